package history

import "slices"

// Counter sources.
const (
	// FromHistory counters are computed by the checkers from the events, faults
	// and snapshot, so `tflab verify` recomputes them offline.
	FromHistory = "history"
	// FromRunner counters are observed by the runner during the run (Toxiproxy
	// metrics, the broker's management API, the message proxy, the services'
	// clock API) and recorded in History.Counters.
	FromRunner = "runner"
)

// CounterInfo describes one evidence counter.
type CounterInfo struct {
	Name    string
	Source  string
	Meaning string
}

// Counters is the catalog of evidence counters a scenario may name. Scenario
// validation rejects any other name, so a typo cannot silently make a run
// inconclusive forever.
var Counters = []CounterInfo{
	{"deliveries", FromHistory, "handlings of deliveries (process spans)"},
	{"deliveries.redelivered", FromHistory, "handlings of deliveries the broker flagged redelivered"},
	{"deliveries.retried", FromHistory, "handlings with attempt > 1"},
	{"deliveries.duplicated", FromHistory, "handlings of a message id a service had already handled"},
	{"dedup.skips", FromHistory, "handlings skipped by the inbox (dedup outcome duplicate)"},
	{"order.stale", FromHistory, "handlings skipped by the ordering guard as stale"},
	{"order.early", FromHistory, "handlings deferred by the ordering guard as early"},
	{"handlings.failed", FromHistory, "handlings that failed (outcome failed, retried or requeued)"},
	{"dead-lettered", FromHistory, "handlings that ended in a dead-letter queue"},
	{"dead-letters", FromHistory, "messages found in dead-letter queues at the end"},
	{"publishes", FromHistory, "publishes of system messages to the broker (not retry or dead-letter copies)"},
	{"publishes.republished", FromHistory, "publishes that repeat an earlier attempt (republish > 0)"},
	{"publishes.outbox", FromHistory, "publishes made by the outbox relay"},
	{"publishes.fault-announcements", FromHistory, "distinct Fault.<T> messages published (a dead-lettered message announced, publish-fault-on-failure)"},
	{"confirms.nacked", FromHistory, "publishes the broker nacked"},
	{"confirms.timeout", FromHistory, "publishes whose confirm never arrived in time"},
	{"faults.applied", FromHistory, "fault steps injected without error"},
	{"latency.fault.max-ms", FromHistory, "largest publish-to-handling latency (ms) of a message published while a fault was active"},
	{"latency.baseline.max-ms", FromHistory, "largest publish-to-handling latency (ms) of a message published while no fault was active"},
	{"network.bytes-cut", FromRunner, "bytes a toxic or a downed link kept from being delivered (Toxiproxy metrics: received minus sent)"},
	{"connections.reopened", FromRunner, "AMQP connections the services opened after the first fault began (management API; without one, the reconnects the services report on /health)"},
	{"connections.blocked", FromRunner, "connections the broker blocked (connection.blocked / management API state)"},
	{"broker.alarms", FromRunner, "memory or disk alarms observed active on the broker"},
	{"broker.connections-closed", FromRunner, "connections closed through the management API"},
	{"queue.depth.max", FromRunner, "largest ready-message count of any service queue during the run"},
	{"processes.killed", FromRunner, "service processes the runner killed with SIGKILL"},
	{"processes.paused", FromRunner, "service processes the runner paused with SIGSTOP"},
	{"inapp.fired", FromRunner, "times the services' in-app anomalies fired (their GET /anomalies, summed over instances)"},
	{"clock.offset.max-ms", FromRunner, "largest clock offset (ms, absolute) a service reported back through its clock API"},
	{"cluster.partitions", FromRunner, "node pairs of a cut that saw each other down or partitioned (management API of every node, read before the heal)"},
	{"cluster.packets-dropped", FromRunner, "packets the lab's nftables rules dropped between cluster nodes"},
	{"cluster.nodes-killed", FromRunner, "broker cluster nodes killed with SIGKILL (kill-node, restart-node)"},
	{"cluster.nodes-paused", FromRunner, "broker cluster nodes paused with SIGSTOP"},
	{"proxy.deliveries-duplicated", FromRunner, "deliveries the message proxy duplicated"},
	{"proxy.deliveries-reordered", FromRunner, "deliveries the message proxy reordered"},
	{"proxy.acks-dropped", FromRunner, "acks the message proxy dropped"},
	{"proxy.confirms-dropped", FromRunner, "publisher confirms the message proxy dropped"},
	{"proxy.confirms-delayed", FromRunner, "publisher confirms the message proxy delayed"},
	{"proxy.publishes-duplicated", FromRunner, "publishes the message proxy duplicated"},
	{"proxy.channels-closed", FromRunner, "channels the message proxy closed"},
	{"proxy.ack-timeouts", FromRunner, "channels the message proxy closed because the ack timeout of a dropped ack expired (as consumer_timeout does)"},
}

// managementCounters are the runner counters read from the broker's
// management API: without one (an external broker given without
// --management-url) they are never recorded.
var managementCounters = []string{"connections.reopened", "broker.connections-closed", "queue.depth.max"}

// NeedsManagement reports whether counter name is read from the broker's
// management API.
func NeedsManagement(name string) bool { return slices.Contains(managementCounters, name) }

// LookupCounter returns the catalog entry for name.
func LookupCounter(name string) (CounterInfo, bool) {
	i := slices.IndexFunc(Counters, func(c CounterInfo) bool { return c.Name == name })
	if i < 0 {
		return CounterInfo{}, false
	}
	return Counters[i], true
}

// CounterNames returns every catalog name, in catalog order.
func CounterNames() []string {
	names := make([]string, len(Counters))
	for i, c := range Counters {
		names[i] = c.Name
	}
	return names
}
