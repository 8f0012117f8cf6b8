// Package anomalies holds the lab's fault injectors for the anomaly classes
// of DESIGN.md §5: network faults through the embedded Toxiproxy (latency,
// cuts, resets, partitions), message faults through the AMQP-aware proxy in
// amqpproxy (duplicate, reorder, delay or drop single deliveries, acks and
// publisher confirms; injected channel and connection closes), process
// faults (kill, pause, restart, clock offset), broker faults (node stop,
// alarms, forced closes) and the services' own in-app anomalies. Every
// injector records evidence that its fault took effect, so that a run
// without evidence is inconclusive.
//
// # Design
//
// One small interface, one file per class:
//
//	type Anomaly interface {
//		Name() string
//		Inject(ctx) (Healer, error)   // returns once the fault is in place
//	}
//	type Healer interface{ Heal(ctx) error }
//
//	network.go  Toxic       a Toxiproxy toxic on every proxy of a service's
//	                        link, upstream (service → broker), downstream or both
//	            LinkDown    proxies disabled: one link = outage, several = partition
//	process.go  Process     kill -9 (heal: start again), pause (heal: continue),
//	                        resume, restart, clock-offset (POST /lab/clock; heal: 0)
//	broker.go   Broker      stop_app (heal: start_app), start_app, memory alarm
//	                        (watermark 0.0000001; heal 0.4), disk alarm (limit
//	                        1000GB; heal 50MB), close-connections (management API)
//	cluster.go  Cluster     between the nodes of a private cluster: isolate,
//	                        split (majority/minority), one-way, bridge as
//	                        drop rules in the lab's nftables table (Env.Cuts;
//	                        heal: rules removed, then the cluster awaited
//	                        whole); kill-node (heal: start), pause-node
//	                        (heal: continue), restart-node; the target may
//	                        be the node leading a queue (LeaderOf), read
//	                        from the management API at Inject (Resolver)
//	inapp.go    InApp       POST /anomalies on every instance (heal: DELETE)
//	management.go           the management API client the broker faults and
//	                        the scenario runner share
//
// Executors reach the lab only from outside, as DESIGN §2 requires:
// Toxiproxy's HTTP API, the services' HTTP APIs, process signals through the
// supervisor (Processes), rabbitmqctl on the node (Node), signals to the
// cluster's nodes (ClusterNode), the lab's nftables table (Cuts) and the
// broker's management API. The lab is described by Env, a plain struct the runner
// fills from lab.json's data; nothing here imports system/ or scenarios/.
//
// Healing: Inject either installs the whole fault or nothing (a partly
// applied fault is healed before Inject returns its error). The caller heals
// with HealContext, which keeps the values of its parent context but not its
// cancellation, under its own timeout — so Ctrl-C or a failed run never
// leaves a toxic installed, a process stopped or an alarm raised. An
// anomaly whose heal takes longer (Cluster) says so as a SlowHealer, and
// HealTimeoutOf raises the caller's bound to it. Instant
// anomalies (restart, resume, start, close-connections) return Nothing.
//
// Evidence (Env.Evidence, names from the history's counter catalog):
//
//	network.bytes-cut          Toxiproxy's proxy metrics: bytes received minus
//	                           sent over links that ended during the fault
//	broker.alarms              an alarm seen raised by the alarm health check
//	connections.blocked        connections the broker held blocked (rabbitmqctl,
//	                           counted just before the alarm is cleared)
//	broker.connections-closed  connections the management API closed
//	clock.offset.max-ms        the offset the service reports back
//	inapp.fired                how often the in-app anomaly fired (GET /anomalies)
//	processes.killed, processes.paused
//	cluster.partitions         node pairs of a cut seen down or partitioned
//	                           in the nodes' management APIs, before the heal
//	cluster.packets-dropped    packets the cut's nftables rules dropped
//	cluster.nodes-killed, cluster.nodes-paused
//
// Sources were chosen for being immediate: the management API's lists and
// per-node flags follow its statistics emission (5 s by default), so alarms
// are read from /api/health/checks/alarms and blocked connections from
// rabbitmqctl, which ask the broker's processes directly.
//
// # Best practices
//
//   - Return a Healer that undoes exactly what Inject did, and make Heal
//     idempotent-safe: a heal that finds the fault already gone (404) is fine.
//   - Verify the effect where the system lets you (the alarm is raised, the
//     clock reports its offset) and record it as evidence; never record a
//     counter the checkers derive from the history.
//   - Bound every wait: Inject runs under the caller's ctx, Heal under
//     HealContext's timeout.
//   - Randomness that must be reproducible comes from the run's seed; note
//     that Toxiproxy draws toxicity with its own unseeded source.
//   - See CREATING_ANOMALIES.md for adding a class.
package anomalies
