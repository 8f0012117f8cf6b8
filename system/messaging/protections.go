package messaging

import (
	"fmt"
	"slices"
	"strings"
)

// Protection names as used on the CLI (--unprotect) and in reports.
const (
	ProtConfirms = "confirms"
	ProtOutbox   = "outbox"
	ProtDedup    = "dedup"
	ProtOrdering = "ordering"
	ProtRetries  = "retries"
)

// ProtectionNames lists every switchable protection in a stable order.
var ProtectionNames = []string{ProtConfirms, ProtOutbox, ProtDedup, ProtOrdering, ProtRetries}

// Protections says which protections a service runs with. The zero value has
// everything OFF; use AllProtections or ParseProtections for the default (all on).
//
// What "off" means, precisely (each is really off, not just unreported):
//
//   - Confirms off: the channel is not in confirm mode; a publish is
//     fire-and-forget (it succeeds once the frame is written to the socket) and
//     is never republished, so a broken link can lose it silently.
//   - Outbox off: Tx.Publish publishes directly. By default (Config.DirectPublish
//     DirectInTx, as the original Ticketflow) at once, inside the transaction:
//     a later failure rolls the writes back but the message has left (a ghost
//     event; the redelivery publishes it again). With DirectAfterCommit the
//     messages are kept in memory and published right after the commit; a
//     crash or a broker outage between commit and publish loses them (logged
//     and counted, the delivery is still acked).
//   - Dedup off: no inbox row is written or checked; a duplicate runs the
//     handler and its effects again.
//   - Ordering off: versioned messages are applied in whatever order they arrive.
//   - Retries off: a failing handler's message is nacked with requeue=true every
//     time (the original Ticketflow's default: an immediate, endless redelivery
//     loop with no delay and no dead-letter queue; a poison message spins forever).
type Protections struct {
	Confirms bool
	Outbox   bool
	Dedup    bool
	Ordering bool
	Retries  bool
}

// AllProtections is the default: everything on.
func AllProtections() Protections {
	return Protections{Confirms: true, Outbox: true, Dedup: true, Ordering: true, Retries: true}
}

// ParseProtections returns all protections on except the named ones. Names are
// case-insensitive and may repeat; an unknown name is an error listing the valid ones.
func ParseProtections(off []string) (Protections, error) {
	p := AllProtections()
	for _, raw := range off {
		name := strings.ToLower(strings.TrimSpace(raw))
		switch name {
		case ProtConfirms:
			p.Confirms = false
		case ProtOutbox:
			p.Outbox = false
		case ProtDedup:
			p.Dedup = false
		case ProtOrdering:
			p.Ordering = false
		case ProtRetries:
			p.Retries = false
		default:
			return AllProtections(), fmt.Errorf("unknown protection %q: valid names are %s", raw, strings.Join(ProtectionNames, ", "))
		}
	}
	return p, nil
}

// SplitProtections separates the names this package switches (ProtectionNames,
// case-insensitive) from the others, which belong to the caller (for example
// a service's own "idempotency" switch), so a service can hand its whole
// --unprotect list over: ParseProtections(ours), then handle rest itself.
func SplitProtections(off []string) (ours, rest []string) {
	for _, raw := range off {
		if slices.Contains(ProtectionNames, strings.ToLower(strings.TrimSpace(raw))) {
			ours = append(ours, raw)
		} else {
			rest = append(rest, raw)
		}
	}
	return ours, rest
}

// Off lists the protections that are off, in ProtectionNames order.
func (p Protections) Off() []string {
	var out []string
	for _, n := range ProtectionNames {
		if !p.On(n) {
			out = append(out, n)
		}
	}
	return out
}

// On reports whether the named protection is on (false for unknown names).
func (p Protections) On(name string) bool {
	switch name {
	case ProtConfirms:
		return p.Confirms
	case ProtOutbox:
		return p.Outbox
	case ProtDedup:
		return p.Dedup
	case ProtOrdering:
		return p.Ordering
	case ProtRetries:
		return p.Retries
	}
	return false
}

// String is "all on" or "off: dedup,outbox".
func (p Protections) String() string {
	off := p.Off()
	if len(off) == 0 {
		return "all on"
	}
	slices.Sort(off)
	return "off: " + strings.Join(off, ",")
}
