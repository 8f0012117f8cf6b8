// Package rabbitnode starts and stops private RabbitMQ nodes from the locally
// installed rabbitmq-server package, for tflab itself and for tests.
//
// # Design
//
// A node is configured entirely through environment variables plus its own
// config file, all inside one directory that the caller owns:
//
//	<dir>/
//	  home/            HOME of the node and of every rabbitmqctl call (Erlang cookie)
//	  mnesia/          RABBITMQ_MNESIA_BASE
//	  log/             RABBITMQ_LOG_BASE
//	  rabbitmq.conf    listeners, management port, loopback_users = none, consumer_timeout,
//	                   cluster_partition_handling (when Config.PartitionHandling is set)
//	  enabled_plugins  [rabbitmq_management,rabbitmq_consistent_hash_exchange].
//
// Ports (AMQP, Erlang distribution, management) are chosen free on 127.0.0.1
// unless fixed by the caller. The distribution port is always set explicitly:
// its default (AMQP port + 20000) would make two nodes clash.
//
// Every listener binds loopback. AMQP and management are configured on
// 127.0.0.1 in rabbitmq.conf; the Erlang distribution listener of the node
// and of every rabbitmqctl call gets "-kernel inet_dist_use_interface
// {127,0,0,1}" (RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS, RABBITMQ_CTL_ERL_ARGS),
// without which it listens on 0.0.0.0. A single node is name@localhost and
// registers with the machine's one epmd (port 4369, shared by all nodes);
// when none runs yet the VM starts it as a daemon, and
// ERL_EPMD_ADDRESS=127.0.0.1 makes that one bind loopback too.
//
// # Clusters: nodes that can be cut apart
//
// StartCluster gives node i an address of its own, 127.a.b.i, with a.b
// from a hash of the cluster's name (Subnet), so that traffic between two
// nodes can be told apart by address (internal/netfilter cuts it). All of
// 127/8 is local on Linux: nothing is configured on the machine. The
// cluster holds its subnet while it lives with a UDP socket bound to
// 127.a.b.0 port 4369, which only one socket on the machine can bind; a
// cluster whose subnet another live cluster holds takes the next hash
// (name/1, name/2, …), so clusters running side by side (several tflab
// runs, tests) never share an address and a cut never drops another
// cluster's traffic. Per node:
//
//	name            <name>-i@<name>-ni, resolved through the cluster's own
//	                Erlang inetrc (<dir>/inetrc, ERL_INETRC; /etc/hosts is
//	                never touched)
//	distribution    listens on 127.a.b.i and connects from it
//	                (inet_dist_connect_options): an outgoing socket would
//	                otherwise take 127.0.0.1 as its source
//	net_ticktime    ClusterTickTime (10 s): a cut shows within 10-15 s
//	AMQP, mgmt      127.0.0.1, as for a single node
//	rabbitmqctl     listens and connects on 127.0.0.1, which no cut between
//	                node addresses matches, so it reaches every node
//
// Node 1 boots first; nodes 2..N then boot at once with node 1 as their
// classic_config peer (Config.Peers) and join its cluster while they boot.
// A node that booted alone anyway joins with rabbitmqctl stop_app,
// join_cluster, start_app: each call is an Erlang VM of its own, which at
// load 30 made joining two nodes take 2 to 4 minutes.
//
// The nodes register with an epmd of the cluster's own, run in the
// foreground as a child (Pdeathsig) on a free port (ERL_EPMD_PORT) and
// listening on 127.0.0.1 and every node address: a node looks a peer up in
// the epmd at the peer's address, and the machine's epmd listens on
// 127.0.0.1 only.
//
// Node.Pause and Resume send SIGSTOP and SIGCONT to the VM's process group;
// Node.Restart starts the VM again on its data (a cluster member rejoins).
//
// consumer_timeout, RabbitMQ's delivery acknowledgement timeout, is set to
// ConsumerTimeout (5 minutes; the package default is 30): above anything a
// catalog handler or run takes, so no scenario meets it by accident, yet a
// delivery stuck behind a lost ack in a long `tflab up` session comes back
// within minutes, as in production. RabbitMQ 3.10 checks it once a minute.
//
// The node runs in the foreground: the rabbitmq-server script from the
// package's own bin folder is started with RUNNING_UNDER_SYSTEMD=true, which
// makes it exec the Erlang VM, so the VM is our direct child. Pdeathsig
// SIGKILL makes the kernel kill the VM when the process that started it dies,
// even by SIGKILL, so no node outlives tflab or a test binary. (The /usr/sbin
// wrapper and -detached both daemonize and are never used.)
//
// Readiness is "rabbitmqctl await_startup" followed by a successful AMQP
// handshake, polled against a deadline; nothing sleeps for a fixed time.
//
// Stop asks the node to stop (rabbitmqctl stop) and kills the VM if it has
// not exited within the grace period.
//
// # Best practices
//
//   - One node per test binary (see internal/labtest), never one per test:
//     booting takes about 4.5 s.
//   - Broker faults (memory/disk alarms, stop_app/start_app) go through
//     Node.Ctl, which runs rabbitmqctl with the node's HOME.
//   - A missing installation is reported as ErrNotInstalled, whose message
//     says what to install; cmd maps it to exit code 3.
package rabbitnode
