// Package ticketsale is the second system under test: the ticket-selling
// app of the well-known microservices course (spec part A), re-created in
// Go over RabbitMQ, with each of the course's known bugs behind a
// faithful/fixed toggle (spec C.3).
//
// # Design
//
//	          HTTP (course routes, session cookie with a JWT)
//	auth   tickets ──ticket:created/updated──▶ orders ──order:created──▶ tickets, payments, expiration
//	               ◀──order:created/cancelled──        ◀─expiration:complete── expiration (durable jobs)
//	                                                   ◀─payment:created────── payments ──▶ gateway (fake Stripe)
//	                                        (fixed) order:updated ──▶ payments
//
// Services lists the services in start order with their Mains (each
// `func(ctx, service.Config, *slog.Logger) error`, as Ticketflow's), HTTP
// ports under fixed ports, and event subjects. Every service keeps its own
// SQLite store; versioned records are updated with optimistic concurrency
// (UPDATE … WHERE id = ? AND version = ?) and every write of one is
// appended to the store's write log (common.Writes). Events go to the
// topic exchange ticketsale.events with the subject as AMQP type and the
// subject with '.' for ':' as routing key; each consuming service has one
// durable queue per subject, <service>-service.<key>, shared by its
// replicas (the course's NATS durable queue groups). The runtime (tsapp)
// emulates NATS Streaming's ackWait on top of it.
//
// Toggles: the settings key of each toggle is its C.3 name (versionRule,
// createIdempotent, cancelChecksOrderId, expirationChecksStatus,
// paymentGuards, deleteGuards, reserveAtomic, outbox, expirationJobId) with
// the value faithful or fixed (versionRule also off, strict,
// strict+skipApplied). Every service of a lab must get the same values;
// Variants gives them as the lab's toggles and profiles ("fixed", the
// default, and "course").
//
// Its lab side lives in lab/: the crowd workload (lab/workload), the
// end-to-end probe (lab/probe), the snapshot of every store
// (lab/snapshot) and their adapters to the lab's plug-in interface (lab),
// which System wires in.
//
// Known gap L12 (the payments replica never learns complete) is fixed in
// fixed mode by the event order:updated {id, version, status}, which orders
// publishes when a payment completes an order (toggle paymentGuards).
//
// # Best practices
//
//   - Start the gateway before payments and give payments its URL
//     (payments.SettingGatewayURL); Services' Needs says so.
//   - Run every instance of a service on one store file, as the course's
//     replicas shared one MongoDB; the messaging outbox lease and the
//     expiration jobs' state column keep that safe.
//   - Give every service the same toggle settings.
package ticketsale
