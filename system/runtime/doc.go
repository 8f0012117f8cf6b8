// Package runtime is the service runtime every system's services share: it
// opens and closes what a service process needs and runs it, with the
// system's contracts (topology, protections, retry, health fields, HTTP
// error format) passed in as data in a Spec. It knows no system: Ticketflow
// (system/ticketflow/app) and ticketsale (system/ticketsale/tsapp) wrap it
// with their own contracts, handlers and fault points.
//
// # Design
//
//	rt, err := runtime.New(ctx, cfg, log, runtime.Spec{
//	    Service:    "orders",
//	    Migrations: []store.Migrations{...},
//	    Bus:        &runtime.Bus{Topology: ..., Protections: ..., Retry: ..., Hooks: ...}, // nil: no broker
//	    Health:     func(base runtime.Health, amqpConnected bool) any { ... },         // the system's fields
//	    Middleware: runtime.CORS,                                                      // around the mux
//	    JSON:       runtime.JSON{Decode: ..., BadRequest: ..., Error: ...},            // the system's error format
//	})
//	rt.Bus().Consume(queue, ...); rt.Bus().Handle(queue, type, h)  // consumers
//	rt.HandleFunc("POST /api/orders", h)                          // routes
//	rt.Go("worker", loop)                                         // background loops
//	return rt.Run(ctx)                                            // nil on a clean stop
//
// New opens, in order: the store at cfg.DBPath (messaging.Migrations with a
// Bus, this package's Migrations, then the service's), a row in app_starts
// for this process start, tracing.Setup (span file cfg.SpanFile, OTLP from
// the otlp-endpoint setting), the messaging.Bus (MessagingConfig: the
// Spec's Bus with cfg and the settings, a seeded jitter source) and the
// HTTP listener. Run starts the bus, the HTTP server and the loops in one
// errgroup; when ctx ends it drains HTTP, lets in-flight handlings settle,
// then closes the store and flushes spans. A loop that fails stops the
// service with its error.
//
// HTTP routes every service gets: GET /health (200 Healthy / 503 Unhealthy:
// the store answers a query within 2 s and, with a Bus, both AMQP
// connections are open; the body is Health, or what Spec.Health makes of
// it) and GET/POST /lab/clock {"offsetMs":N} (the clock's skew; a bad body
// is answered through Spec.JSON). CORS and TraceContext are middlewares a
// system may put around its mux with Spec.Middleware.
//
// Ids: NewID draws from a source seeded by (run seed, service, instance,
// start count). The start count is a row per process start in app_starts,
// so a restarted process does not repeat earlier ids (a repeated message id
// would be swallowed as a duplicate downstream) while a rerun with the same
// seed and history repeats them. Rand gives further seeded streams.
//
// Settings (cfg.Settings, see the Setting* constants): heartbeat,
// confirm-timeout, outbox-poll, otlp-endpoint, shutdown-timeout,
// clock-offset. Duration, PositiveDuration and Int parse a system's own
// settings with errors naming the key.
//
// # Best practices
//
//   - Keep a service's Main declarative: everything that opens or closes
//     belongs here.
//   - Read time from Clock(), never time.Now, so clock skew reaches the
//     logic.
//   - Pass contracts as data in the Spec; never look a system up by name
//     here (this package imports no system).
package runtime
