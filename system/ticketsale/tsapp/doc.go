// Package tsapp is ticketsale's wiring of the shared service runtime
// (system/runtime): it passes ticketsale's contracts (the queue-group
// topology of spec C.3, the protections its toggles imply, the ackWait retry
// path, its health fields, the course's error format and currentUser
// middleware) to runtime.New, and adds listeners with the ackWait
// emulation, event publishing and the toggles.
//
// # Design
//
//	Main(ctx, cfg, log) = tsapp.Main(ctx, cfg, log, Spec, Wire)
//	  rt, err := tsapp.New(ctx, cfg, log, tsapp.Spec{Service: "orders", Messaging: true, Migrations: ...})
//	  Wire(rt):
//	    tsapp.ListenTo(rt, subject, OnX)   // decode, OnX(ctx, q, toggles, ev, now), publish its events
//	    rt.Listen(subject, handler)        // (the raw form) queue <service>-service.<key>, ackWait emulation
//	    rt.Mux().HandleFunc(pattern, h)    // routes, behind the currentUser middleware
//	    rt.Go("worker", loop)              // background loops
//	  return rt.Run(ctx)                   // the shared runtime's Run
//
// Store, tracing, bus, clock, HTTP server, /health, /lab/clock, loops and
// shutdown are the shared runtime's (system/runtime); settings such as
// outbox-poll and clock-offset are its too.
//
// Messaging protections: the course has no inbox and uses its own version
// rule, so dedup and ordering are off; the outbox follows the Outbox toggle
// (faithful: messaging.DirectAfterCommit, published after the commit and
// lost on a failure); confirms and retries follow cfg.Unprotect.
//
// ackWait (setting ack-wait, default 5s as the course): NATS Streaming
// redelivers a message not acked within ackWait, possibly to another
// replica while the first handler still runs. Here a failed handling goes
// to the queue's retry companion with a TTL of ackWait (the messaging
// layer's retry path, attempts unlimited unless max-deliveries is set), and
// a handling still running when its ackWait timer fires sends a copy (same
// message id, header ack-wait-expired) the same way; so the copy comes back
// after another ackWait, to any replica. Consumers take max-in-flight
// deliveries at once (default 16). handler-delay makes every handling slow.
//
// Routes every service gets: GET /health (200 Healthy / 503 Unhealthy;
// Health adds toggles and amqp, omitted without messaging, to the runtime's
// part), GET/POST /lab/clock {"offsetMs":N} (errors in the course's
// format), GET /lab/toggles.
//
// # Best practices
//
//   - Read time from Clock(), never time.Now, so clock skew reaches the
//     logic (expiration's window, L14).
//   - Publish with Publish/PublishAll inside InTx or a listener's tx, so
//     the Outbox toggle decides how the event leaves.
//   - Keep HTTP calls (the gateway) out of transactions.
package tsapp
