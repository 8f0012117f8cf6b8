// Package anomaly is Ticketflow's in-app anomaly system (spec §8): the nine
// original anomaly types with their names and parameters, a per-instance
// registry, the HTTP API, and the sync message that keeps every instance of
// a service in step.
//
// # Design
//
// A service asks the registry at named injection points what to do:
//
//	act := reg.Check(anomaly.BeforeHandler, msgType, ticketStatus)
//	if err := act.Apply(ctx, clk); err != nil { return err } // delay, then maybe fail
//
// The points sit where the original put them relative to the database
// transaction of a handling (message or HTTP command):
//
//	BeforeTransaction ─ ProducerErrorBeforeTransaction   (CheckAny with the execution's outputs)
//	BeforeHandler delay ─ ConsumerDelayBeforeHandler     (before the tx, see below)
//	┌ tx ───────────────────────────────────────────────────────────────────┐
//	│ BeforeHandler  ─ ConsumerErrorBeforeHandler                            │
//	│   handler; after each outbox insert: OutboxSave ─ OutboxErrorOnSave     │
//	│   after each publish call: Publish ─ OutboxErrorOnPublish               │
//	│ AfterHandler   ─ ConsumerErrorAfterHandler, ConsumerDelayAfterHandler   │
//	│ WithinTransaction ─ ProducerErrorWithinTransaction                      │
//	└ commit ────────────────────────────────────────────────────────────────┘
//	AfterTransaction ─ ProducerErrorAfterTransaction  (before the ack)
//	outbox relay: after publishing a row, before marking it sent: Publish ─ OutboxErrorOnPublish
//	              (the row stays unsent and is re-sent at the next round)
//
// Consumer types match the consumed message type; producer and outbox types
// match a published type. Several anomalies may fire at one point: delays
// add up and run before the error, as in the original. Action.Apply sleeps on
// the service's clock.Clock, so tests drive delays with a fake clock.
//
// HTTP API (one per instance; identical on every service):
//
//	GET    /anomalies                                   [{anomalyType, messageType, params, fired}]
//	POST   /anomalies                                   {anomalyType, messageType, additionalParams}
//	DELETE /anomalies/{anomalyType}/messages/{messageType}
//
// After a local change the handler calls a Broadcaster, which the wiring
// implements by publishing contracts.AnomalyEventWrapper to anomalies-sync
// with routing key = AppName; every instance (the sender too) applies it with
// Registry.ApplySync, which is idempotent. State is in memory, as in the
// original: a restarted instance starts empty.
//
// # Differences from the original, and why
//
//   - ProducerErrorBeforeTransaction really fires: it matches the message
//     types the execution MAY publish (contracts.Publishes), because nothing
//     has been published before the transaction. The original matched the
//     types published so far — always none (§8.6, §12.6 #12).
//   - StatusFilter really filters: it matches the ticket status the service
//     passes (ticket events now carry "status"). An unknown status ("") never
//     matches a filter. The original compared it with a Status property no
//     message had (§12.6 #12). A filter must be a ticket status name.
//   - Bad input is 400 with a message: an unknown anomaly type
//     (*UnknownTypeError), a missing messageType, DelayInMs not a whole number
//     in 1..600000 or missing on a delay type, an unknown StatusFilter
//     (*RequestError). The original answered a bad DelayInMs with 500.
//   - Type names are accepted case-insensitively in the body and the DELETE
//     path (the original parsed the path case-sensitively).
//   - Enabling an existing (type, messageType) with other parameters updates
//     them; the original silently ignored the second enable.
//   - ProducerErrorAfterTransaction is independent of the outbox: the wiring
//     must call AfterTransaction even when publish-on-commit runs (the
//     original's outbox step did not continue the chain, so it never fired).
//   - GET adds "fired" (how often each anomaly fired here), DELETE answers
//     {"removed": bool}; a failed broadcast answers 503 after the local change.
//   - Every service may mount the API (the original had none on Translations).
//   - OutboxErrorOnPublish fires in the relay as in the original. A
//     background execution (app.ExecBackground: SLA's reminder and breach
//     loop, which the original ran outside any execution) skips it at the
//     outbox write, so its SLABreached row commits and the relay re-sends
//     it every round: the repeated-SLA-alert demo.
//   - ConsumerDelayBeforeHandler sleeps before the handling's transaction
//     begins (the original slept inside it): a service's SQLite store has one
//     writer, so a sleep inside a transaction would stall every other
//     handling of the service, and the race experiments of spec §8.6 (a
//     TranslationCompleted overtaking a delayed InquirySubmitted) could not
//     happen. ConsumerDelayAfterHandler does sleep inside the transaction
//     (app.Runtime.Handle).
//   - Disabling a delay anomaly ends the delays it is holding (the original
//     slept on): a long delay is a hold that the lab releases on an event.
//
// # Best practices
//
//   - Check at every point even when the relevant protection is off; the
//     registry is a map lookup when nothing is enabled.
//   - Pass the status of the ticket the message is about when the service
//     knows it (the message's "status" field, or the ticket row); else "".
//   - Count anomaly errors as handler failures: they must roll the
//     transaction back and go through the normal retry path.
package anomaly
