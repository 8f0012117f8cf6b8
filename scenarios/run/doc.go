// Package run is the live half of the scenario runner: it brings a lab up
// for one scenario plan, drives the workload while the fault timeline runs,
// heals everything, waits for quiescence, collects the run into a
// history — spans, databases, dead letters, the broker's holdings, runner
// counters — judges it with
// scenarios/check and writes the run directory's reports.
//
// # Design
//
// The loop is etcd robustness's (traffic and faults in one errgroup, then
// validation) in Chaos Toolkit's shape (steady state before and after, a
// method, rollbacks):
//
//	lab.Start (random ports; per-service unprotect from the plan; scenario
//	           settings: heartbeat 2s, confirm-timeout 1s)
//	  └ WaitHealthy
//	steady state before ── a failed probe stops the run: the probes are
//	        judged as a run that did not start (INCONCLUSIVE), its reports
//	        written, and Run returns that Result with ErrSteadyState
//	base := now                                          (history Meta.Start)
//	errgroup ┬ workload.Run (seeded from the plan's seed) [holds after its
//	         │           hold.after-th submission until hold.until holds]
//	         └ timeline: step i sleeps to base+At, [waits for its when],
//	                     Inject, sleeps its duration (HealAt-At) from
//	                     Inject's return, the fault in force [then waits
//	                     for its until], Heal  ◄── deferred, on a
//	                     context that survives Ctrl-C (anomalies.HealContext)
//	rollbacks (always, also after Ctrl-C)
//	settle: until every service queue is empty (passive declares, plus the
//	        management API's unacked counts) and every outbox relayed, three
//	        polls in a row, or the scenario's settle time runs out
//	steady state after (failures are recorded; check fails the run as
//	        deviated); settle again after an end-to-end probe, whose flow
//	        is still running; min-throughput, before or after, is judged from
//	        the method's spans once they are read, as an after-probe
//	collect: databases (read-only) ─► dead letters (management API peek)
//	         ─► holdings: what each queue still holds (ready and unacked,
//	            the least seen over 2 s, 7 s while a queue shows unacked
//	            deliveries, unacked since when, dead-lettered,
//	            consumers and prefetch, blocked connections, up to 500 ready
//	            messages read with requeue)
//	         ─► last connections (management API, until every node's
//	            marker connection is listed)
//	         ─► lab.Stop ─► span files ─► history.Event (EventOf)
//	check.Evaluate ─► history.json, events.jsonl, journal.json, junit.xml,
//	                  report.html in runs/<time>-<scenario>/
//
// Faults are executed by package anomalies; anomalyOf maps each spec action
// to its executor. The executors record their evidence (network.bytes-cut,
// broker.alarms, connections.blocked, broker.connections-closed,
// clock.offset.max-ms, inapp.fired, processes.*, cluster.*); a watcher polls the
// management API for connections.reopened (a client name that connects
// again after the first fault began) and queue.depth.max, and tracks since
// when each queue has had unacked deliveries (for the holdings); before the
// lab stops, one last read of the connections (lastConnections) waits until
// a marker connection to every node is listed, so a reconnect since the last
// poll counts too. Counters the
// checkers derive from the history are never recorded here.
//
// A step with a `when` waits on the live event stream (the events
// interface): liveSource tails the span files as the services append to them
// (spans are written when they end, so a handled-count fires after the Nth
// handling ended; an unfinished last line waits for the rest, a torn one is
// skipped) and reads the live counters — the executors' evidence, the
// watcher's, outbox.pending from the databases — every PollEvery while a
// counter step waits; the span counters of spec.LiveSpanCounters are
// tallied from the stream. Spans that ended before the method are not
// counted. A step whose event has not come WhenGrace after the plan's end,
// or after the timeline's last activity if that is later (never while a
// step is being injected: timeline.giveUpAt), is abandoned and recorded as never fired (history.Fault.NeverFired), which
// check.Evaluate turns into INCONCLUSIVE naming the step.
//
// A step's `until` and the workload's hold wait on the same stream: an until
// counts spans from the moment its step fired and is awaited only after the
// step's duration; the hold is the workload.Config.Hold hook, blocking the
// submission after hold.after until its condition holds. Neither gives up
// the run: an until that has not held by that give-up time heals its step
// then, a hold releases the workload (both logged). The live
// counters add workload.submitted and workload.accepted (from the
// workload's progress), inapp.fired (the installed in-app faults asked
// now, anomalies.FiredCounter) and, while a message fault is installed, its
// proxy.* events so far (its healer asked now, anomalies.LiveEvidence; its
// heal records them once).
//
// On a private cluster (--nodes N) the cluster steps cut nodes apart in the
// run's own nftables table (internal/netfilter), named after this process
// and the run directory, created at the first cut and deleted when Run
// returns, after every heal, also on error and Ctrl-C.
//
// The span adapter (ReadSpans, EventOf) streams the span files and maps each
// attribute named in history.EventAttributes to its event field; every span
// becomes an event (kind publish, create, process, command or other), so
// the trace checker sees whole flows. ReadSpanTable does the same into a
// history.EventTable, which Verify judges, reading consecutive groups of
// files of about equal size on one goroutine per CPU and appending their
// tables in file order. The snapshot is the system's:
// Config.System.Snapshot (e.g. Ticketflow's lab.Snapshot) reads each service
// database read-only after the settle into the system's own snapshot; the
// runner adds the dead letters and the broker's holdings. The workload
// (System.Workload) and the end-to-end probe (System.Probe) are the
// system's too; the runner passes them the lab's endpoints and a seeded
// rand and keeps their records.
//
// Verify re-judges a saved run offline from history.json and events.jsonl,
// or from the span files alone (FromSpans, or a directory made by
// spanfile.Synthesize).
//
// # Best practices
//
//   - Never leave a fault installed: every Inject's Healer runs in a defer on
//     anomalies.HealContext; rollbacks run even after Ctrl-C; the lab is
//     always stopped.
//   - Do not set the SLA service's sla-scale in scenario settings: the SLA
//     oracle (TF5) judges against the agreed durations, unscaled.
//   - Keep everything random derived from the plan's seed (the plan's
//     jitter, the workload's stream, the end-to-end probe's stream).
//   - Name new runner counters in history.Counters first (a test checks the
//     executors' counter names against it).
package run
