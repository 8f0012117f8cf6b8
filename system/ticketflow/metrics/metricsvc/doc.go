// Package metricsvc runs the Metrics service (spec §2.6): it consumes every
// service's MetricTick from live-metrics into a metrics.Aggregator and
// streams them on GET /live-metrics (Server-Sent Events).
//
// # Design
//
//	every service (app runtime) ──MetricTick──▶ metrics-exchange ──#──▶ live-metrics
//	live-metrics ──▶ handler: tx.OnCommit(Aggregator.Add) ──▶ /live-metrics subscribers
//	GET /live-metrics          SSE: latest tick per instance, then each new one
//	GET /live-metrics/latest   JSON: the latest tick per instance (stale = Unknown)
//
// It lives in its own package because the shared runtime (app) imports
// metrics for the ticks every service publishes: a Main inside metrics
// would be an import cycle.
//
// A tick reaches the aggregator only after its handling committed, so a
// duplicate absorbed by the inbox is not shown twice. Streams end when the
// service stops (the HTTP server's drain would otherwise wait for them).
//
// # Best practices
//
//   - Read /live-metrics with a deadline: it never ends by itself.
//   - Use /live-metrics/latest for checks ("did every service tick?").
package metricsvc
