// Package benchproxy measures what a proxy in the broker path costs:
// persistent, confirmed publish→consume throughput straight to the broker
// and through a proxy that does nothing (the embedded Toxiproxy without
// toxics for `tflab bench proxy`, the AMQP message proxy without rules for
// its benchmarks), measured in the same run so the ratio means something on
// any machine. Rounds and MedianRate are the alternating-rounds loop that
// internal/benchhop shares.
//
// # Design
//
//	one AMQP connection
//	  ├─ publisher channel, confirm mode, at most Window unconfirmed messages
//	  └─ consumer channel, prefetch Prefetch, manual ack of every delivery
//	queue: durable, unique name, deleted afterwards
//	time:  first publish → last delivery acked
//
// Compare alternates direct and proxied rounds (direct, proxied, direct, …)
// so drift on a shared machine hits both sides alike, and reports the median
// of each side and their ratio. The reference on a 2-core machine is about
// 25k msg/s direct and a ratio of about 0.77 (guides/known-facts.md).
//
// # Best practices
//
//   - Compare ratios, not absolute numbers: both depend on the machine.
//   - Keep Messages large enough (≥ 10k) that connection setup does not count.
//   - Run against a private node nobody else uses; a busy broker skews both sides.
package benchproxy
