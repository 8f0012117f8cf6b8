// Package ticketflow is the root of the Ticketflow system under test: a
// service desk of six services talking over RabbitMQ (spec
// ticketflow-original.md). This package holds the System value that plugs
// Ticketflow into the lab (System) and its snapshotter (ReadSnapshot: the
// services' databases read at the end of a run; SLA records decoded by the
// SLA service's own store, Communication's message kinds and tickets read
// from the idempotency keys); its sub-packages hold the services.
//
// # Design
//
//	contracts      wire names, message structs, topology as data, what each execution publishes
//	clock          the one time source (skew for clock anomalies, fake for tests)
//	httpjson       JSON bodies and {message} errors with status codes
//	language       offline language detection (whatlanggo, whitelisted)
//	anomaly        the nine in-app anomaly types, registry, HTTP API, sync message
//	inquiries      intake, validation, translation requests, inquiry ↔ ticket
//	translations   glossary and HTTP translation providers, request handler
//	tickets        ticket aggregate and state machine, translation parking, desk API
//	sla            agreements, SLA record, reminder/breach scheduler with effect keys
//	communication  inbox messages, alerts, closure message, idempotency keys
//	metrics        health ticks, aggregator, /live-metrics (SSE)
//
// Every domain package is pure: use cases take a small store interface bound
// to the caller's transaction and return the messages to publish, so wiring
// a service onto system/messaging is: open the transaction, bind the store,
// call the use case, put the returned messages in the outbox, commit — with
// the anomaly registry checked at the named points around it.
//
// # Best practices
//
//   - Services depend on contracts, never on each other's packages.
//   - Time comes from clock.Clock, ids from an injectable generator,
//     randomness from the run's seeded source.
//   - Every side effect has an idempotency key (see communication and sla).
package ticketflow
