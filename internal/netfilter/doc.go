// Package netfilter owns the lab's nftables table: drop rules between pairs
// of node addresses, which is how a lab cuts its RabbitMQ cluster apart.
//
// # Design
//
// One table per lab, in the inet family, named Prefix+"<pid>-<id>" where
// pid is the process that owns it (tflab or a test binary). The table has
// one base chain, "cuts", on the input hook with policy accept; every rule
// drops IPv4 packets from one address to another, counts them, and carries
// its fault's key in its user data, so that a heal removes exactly its own
// rules and reports how many packets they dropped. Loopback traffic passes
// the input hook too, so a dropped packet is lost silently, as on a real
// cut network (a drop on output would fail the sender's send at once).
//
// Removal: Close deletes the table (callers defer it, on a context that
// survives cancellation); RemoveStale deletes every table with the prefix
// whose owner pid no longer runs, which `tflab up` and `tflab down` call,
// so a lab killed with SIGKILL leaves nothing behind after the next one.
// A reused pid keeps a stale table alive until that process ends too.
//
// The package talks to the kernel over netlink (github.com/google/nftables),
// needs no nft binary, and needs root (CAP_NET_ADMIN): Available says why
// it cannot work.
package netfilter
