// Package benchhop measures what one protected messaging hop costs: raw
// amqp091 publish→consume throughput against the throughput of a
// system/messaging bus that consumes every message, handles it in a
// transaction and relays it onwards, measured in the same run on the same
// broker so the ratio means something on any machine.
//
// # Design
//
//	raw:  one connection; publisher channel in confirm mode (window 256),
//	      consumer channel (prefetch 200, manual ack); 512-byte persistent
//	      bodies (package benchproxy's measurement)
//	hop:  queue "in", preloaded with Messages TicketChanged messages (not timed)
//	        └─► bus consumer (prefetch 200, 32 at a time)
//	              inbox dedup ─► handler tx: effect row + outbox row
//	              ─► group commit ─► ack "in"
//	        outbox relay (woken by the commit) ─► publish with confirms
//	              ─► queue "out" ─► mark the rows sent
//	      tracing on (SDK provider, synchronous no-op exporter)
//	      time: bus start → the last message arrives in "out"
//	cpu:  getrusage of this process and /proc/PID/stat of the node over
//	      the timed span (raw: connection setup included)
//
// Compare runs rounds of raw then hop and reports the median of each side
// and their ratio (hop / raw). With Config.BrokerPID (a private node) it
// also reports each side's CPU a message, this process's plus the node's,
// and their ratio (raw / hop): what a machine whose CPU is the limit would
// give, which other load on the machine moves much less than the msg/s
// ratio. scenarios/README.md records measurements.
//
// # Best practices
//
//   - Compare the ratio, not absolute numbers: both depend on the machine.
//   - Keep Messages large enough (≥ 10k) that connection setup and bus
//     start do not count.
//   - Run against a private node nobody else uses; a busy broker skews both sides.
package benchhop
