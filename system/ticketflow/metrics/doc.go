// Package metrics is the health side of Ticketflow (spec §2.6): the
// MetricTick every service publishes, real process readings behind it, and
// the Metrics service's aggregator and /live-metrics stream.
//
// # Design
//
//	every service:  Report(ctx, clk, interval, build, sink)
//	                  build = Tick(AppName, instance, now, ProcSampler.Sample(), Counters.Stats(), queue depths)
//	                  sink  = publish to metrics-exchange, key metric.<AppName> (wiring; direct, no outbox)
//	metrics service: live-metrics queue ──▶ Aggregator.Add ──▶ subscribers
//	                 GET /live-metrics (SSE): latest tick per instance, then every new one,
//	                 "event: MetricTick" + the tick's JSON
//
// A tick keeps the original shape {name, status, lastChecked, metrics:{cpu:
// {usage}, memory:{used,total}}} and adds instance, messages {handled,
// failed} and queues [{name, depth}] (the ready messages of every queue the
// instance consumes, asked of the broker at each tick:
// messaging.Bus.QueueDepths). Status follows the original rule:
// Healthy when CPU < 90 % and memory < 90 % of the total, else Error; the
// aggregator reports Unknown for an instance whose last tick is stale.
//
// # Differences from the original, and why
//
//   - Readings are real: process CPU % (getrusage between samples) and RSS
//     (/proc/self/statm) against the machine's memory, instead of random
//     numbers with a 20 % chance of skipping a tick. A paused or killed
//     process then really goes stale, which the lab can observe.
//   - Ticks are published whenever the lab runs (the original generator was
//     off by default).
//   - The stream is Server-Sent Events instead of SignalR (no Go SignalR
//     server is needed; the desk's widget must use EventSource on
//     /live-metrics with the MetricTick event). Ticks are pushed from a
//     consumer, not pulled with basic.get every 100 ms.
//   - Slow stream clients lose ticks instead of stalling the consumer.
//
// # Best practices
//
//   - Publish ticks directly, outside the outbox (they are persistent like
//     every message of the lab, but nothing retries them); a lost tick is
//     harmless and the next one replaces it.
//   - Count handled/failed in the consumer wrapper, once per delivery.
//   - Give Report the service's clock so a skewed instance reports skewed
//     lastChecked values, as a real skewed host would.
package metrics
