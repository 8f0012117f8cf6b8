// Package app is Ticketflow's wiring of the shared service runtime
// (system/runtime): it passes Ticketflow's contracts (topology, protections,
// health fields, error format) to runtime.New and adds the anomaly registry,
// the anomaly points around handlers and commands, and the metric ticks. It
// turns a service's Main into a short declaration of its migrations,
// handlers, HTTP routes and background loops.
//
// # Design
//
//	Main(ctx, cfg, log)
//	  rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.Tickets, Migrations: ...})
//	  rt.Handle(queue, type, handler)        // consumers, wrapped with the anomaly points
//	  rt.HandleFunc("POST /tickets/...", h)  // routes; commands call rt.Exec
//	  rt.Go("scheduler", loop)               // background loops
//	  return rt.Run(ctx)                     // nil on a clean stop
//
// New builds the shared runtime (store, tracing, bus, HTTP listener: see
// system/runtime) with the topology of contracts.ForServiceWith and the
// lesson variant of the settings, converted by Topology, and protections
// from cfg.Unprotect; then it adds the anomaly registry with its sync
// consumer, the anomaly routes and the metric ticks. Run refuses to start
// while an accepted type has no handler, then runs the shared runtime.
//
// Anomaly points (spec §8.2) relative to the transaction of an execution:
//
//	message handling (Handle)                   command (Exec)
//	BeforeTransaction  messaging.TxHooks.Before   before bus.InTx
//	BeforeHandler delay (consumed type + status)  -
//	Prepare step (option Prepare: slow work       -
//	  without side effects, e.g. an HTTP call)
//	┌ tx ─────────────────────────────────────────────────────────────┐
//	│ inbox dedup, ordering guard (messaging)                          │
//	│ BeforeHandler error                          -                   │
//	│ handler / fn: per Tx.Publish: OutboxSave (outbox on), Publish    │
//	│ AfterHandler (delay, error)                  -                   │
//	│ WithinTransaction (each published type)      same                │
//	└ commit ─────────────────────────────────────────────────────────┘
//	AfterTransaction   messaging.TxHooks.AfterCommit  after bus.InTx
//	                   (error → retry path; the redelivery meets the inbox)
//	outbox relay       Publish after each row's publish (messaging.Hooks.AfterRelayPublish;
//	                   error → the row stays unsent and is sent again)
//
// An Exec with ExecBackground (SLA's reminder and breach loop) skips the
// Publish point at the outbox write, so an OutboxErrorOnPublish fires only in
// the relay, as for the original's background workers. With the setting
// publish-fault-on-failure on, a dead-lettered message is also published as
// Fault.<T> (messaging.Hooks.DeadLettered).
//
// The one deliberate shift: ConsumerDelayBeforeHandler sleeps just before
// the transaction instead of inside it. A service's SQLite store has a single
// writer, so a sleeping transaction would stall every handling of the
// service, and the race experiments of spec §8.6 (a TranslationCompleted
// overtaking a delayed InquirySubmitted and being parked) could not happen.
// ConsumerDelayAfterHandler sleeps inside: holding the transaction and the
// ack is its documented effect (here it holds the service's whole store).
//
// BeforeTransaction matches the execution's possible outputs
// (contracts.Publishes), so ProducerErrorBeforeTransaction really fires
// (spec §8.6 says the original's never did). An anomaly error at any point
// fails the execution: a handling takes the messaging retry path; a command
// returns the error (HTTP 500 "internal error" through httpjson).
//
// HTTP routes every service gets: GET /health (200 Healthy / 503 Unhealthy;
// Health adds app, amqp, messages, protections and idempotency to the
// runtime's part; amqp.connected is live: both connections open now,
// messaging.Bus.Connected), GET/POST /anomalies and DELETE
// /anomalies/{type}/messages/{messageType} (anomaly.Handler), GET/POST
// /lab/clock {"offsetMs":N} (errors as {"message"}); every response allows
// any origin (runtime.CORS). Runtime.Handler (what Run serves) also
// continues the caller's trace (runtime.TraceContext): a
// request's W3C traceparent becomes the remote parent of the spans its
// handler starts, so a command span (Exec) joins the trace of the caller (the
// workload records one trace id per submission and sends it this way; a
// service calling another, as SLA → Communication and the inquiries sync
// flow, injects its own span with otelamqp.Propagator).
//
// Anomaly sync: each instance consumes its own queue
// anomalies-sync-<AppName>-<instance id> (x-expires 60 s) bound to
// anomalies-sync with key AppName; a local change is applied, then published
// there directly (outside the outbox), and every instance, the sender too,
// applies it idempotently. The instance id is cfg.ID() ("tickets",
// "tickets-2"), stable across restarts, so a restart reuses its queue (and
// its retry companions) instead of leaking new ones, and picks up changes
// broadcast while it was down (within the expiry).
//
// Ids: messages and entities take their ids from the runtime's seeded
// NewID (runtime.Runtime.NewID).
//
// Settings (cfg.Settings): the shared runtime's (runtime.SettingHeartbeat,
// ...) and, see the Setting* constants, retry-delay, max-attempts,
// handler-timeout, metrics-interval, direct-publish and the lesson
// variants. The service-level protection "idempotency" is reported by
// Idempotency.
//
// Outbox off (--unprotect outbox): direct-publish=in-tx (the default, as the
// original) publishes at Tx.Publish, inside the transaction, so
// ProducerErrorWithinTransaction, ConsumerErrorAfterHandler and
// OutboxErrorOnPublish roll the writes back after the event left (ghost
// events, republished by every redelivery); direct-publish=after-commit
// publishes after the commit instead (no ghosts, but a failure then loses
// the event). See messaging.Config.DirectPublish.
//
// # Best practices
//
//   - Keep Main declarative: everything that opens or closes belongs here.
//   - Publish with Tx.Publish (routed by contract, seeded id, anomaly
//     points), never with the embedded messaging.Tx.Publish.
//   - Run every HTTP command and scheduler round that writes through Exec, with
//     the command name of contracts.Executions, so its anomaly points fire.
//   - Read time from Clock(), never time.Now, so clock skew reaches the logic.
//   - Register a handler for every type the service's queues accept; Run
//     refuses to start otherwise (an unhandled type would be dropped).
package app
