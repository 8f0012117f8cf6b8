// Package tracing sets up OpenTelemetry tracing for one lab process: a
// TracerProvider that writes every ended span to the process's span file
// (tracing/spanfile) and, when an OTLP endpoint is given, also exports to an
// OTLP/HTTP collector.
//
// # Design
//
//	cmd (reads OTEL_EXPORTER_OTLP_ENDPOINT, knows the run directory)
//	  └─ tracing.Setup(ctx, Config{ServiceName, Instance, SpanFile, OTLPEndpoint})
//	       TracerProvider (AlwaysSample, resource: service.name, service.instance.id)
//	         ├─ spanfile.Processor   sync write(2) in span.End -> runs/<run>/traces/<instance>.jsonl
//	         └─ BatchSpanProcessor -> otlptracehttp exporter  (only if OTLPEndpoint != "")
//
//	service code: tp.Tracer(...).Start / End; otelamqp.Inject / Extract carry
//	W3C traceparent/tracestate/baggage in AMQP headers between processes.
//
//	checkers, tflab verify: spanfile.Walk(runDir files) -> history events (scenarios/run.ReadSpans)
//
// The span file is the record the invariant checkers trust: its processor
// is registered first and writes synchronously, so a span whose End
// returned survives a SIGKILL of the process (the exact guarantee is in
// tracing/spanfile). OTLP export is best effort: batched, dropped on a full
// queue or a crash, and only for looking at traces in a UI.
//
// Setup neither reads the environment nor sets the global TracerProvider or
// propagator: cmd passes the endpoint in (the OTLP exporter itself still
// reads the other OTEL_EXPORTER_OTLP_* variables, such as headers and
// timeout), and tracing/otelamqp propagates explicitly with the W3C
// propagators. The exporter speaks OTLP over HTTP with protobuf (port
// 4318 by convention), not gRPC.
//
// Sub-packages:
//
//   - otelamqp: AMQP header carrier and the span attribute names (semconv
//     messaging keys plus the lab's) that publish and handling spans carry.
//   - spanfile: the JSONL span file: schema, Processor, streaming reader,
//     Synthesize.
//
// # Best practices
//
//   - One Setup per process, early in main, with SpanFile
//     runs/<run>/traces/<instance>.jsonl; pass the TracerProvider down
//     explicitly (no globals), and defer shutdown with a deadline.
//   - End the handling span before acking the delivery; only then is the
//     handling guaranteed to be on disk when the ack reaches the broker.
//   - Put the lab attributes of otelamqp on every publish and handling span;
//     the checkers match on those exact keys.
//   - Leave sampling always-on: a sampled-out span is a span the checkers
//     would count as lost.
package tracing
