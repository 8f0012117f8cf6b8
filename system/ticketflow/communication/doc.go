// Package communication is the domain of the Communication service (spec
// §2.5, §5.8): the inbox messages and the alert store, their idempotency
// keys, validation of POST /messages, the closure message sent to the
// customer when a ticket is resolved, and the HTTP API.
//
// # Design
//
//	TicketResolved ──▶ HandleTicketResolved ──▶ Store.AddMessage(key closure:<ticket>)
//	any alert (communication-alerts) ──▶ HandleAlert ──▶ Store.AddAlert(key = alertKey | alert:<message id>)
//	POST /messages (SLA reminders, breach messages) ──▶ Poster ──▶ Store.AddMessage(key from the body)
//
// Every stored effect has an idempotency key that the store keeps unique, so
// a redelivered message or a retried POST stores nothing new: that is the
// "idempotent side effects" protection and what the effect-exactly-once
// checker counts. Keys in use:
//
//	closure:<ticket>          the customer's closure message (one per ticket)
//	incident:<ticket>         the incident alert
//	breach:<ticket>:<n>       the n-th SLA breach alert
//	reminder:<ticket>:<n>     SLA reminders 1..3 (POST /messages)
//	breach-message:<ticket>:<n>  the agent message of a breach
//	alert:<AMQP message id>   alerts from producers that send no key
//
// Alerts are read producer-agnostically (contracts.DecodeAlert): only
// alertMessageContent, alertType and alertKey matter.
//
// HTTP: GET /alerts (last 10, ?onlyUnread), PUT /alerts/{id}?isRead,
// GET /logged-users/{userId}/messages, GET /anonymous-users/messages
// ({data,total}; ?onlyUnread&page&limit), PUT /messages/{id}?isRead,
// POST /messages.
//
// # Wiring (service.go, sqlstore.go)
//
//	communication-ticket-resolved ──▶ HandleTicketResolved(SQLStore(tx))
//	communication-alerts (every type, matched as ProducerAgnosticAlertMessage) ──▶ HandleAlert
//	POST /messages ──▶ Runtime.Exec("PostMessage") ──▶ SQLStore.AddMessage
//
// Rows keep the producer's key in idempotency_key; the UNIQUE dedup_key
// holds the same key only while the "idempotency" protection is on (NULL
// when off), so with it off a repeated delivery or POST really stores a
// second row, which DuplicateKeys (and the exactly-once checker) see.
//
// An execution records its key as an effect (tx.Effect, the span attribute
// lab.effect.keys that the exactly-once checker counts) only when its INSERT
// really stored a row (RowsAffected == 1). A row the idempotency key absorbed
// (dedup off, idempotency on: the handler runs again and stores nothing) is
// no effect: the span gets the event "idempotent effect absorbed" with the
// key instead. Recording the key anyway made the checker report a duplicated
// effect that never reached the database.
//
// # Differences from the original, and why
//
//   - Invalid POST /messages is 400 with a message (the original threw a
//     domain error without the 400 middleware, so it was 500, §12.6 #15);
//     recipentEmail must be an address; lengths are bounded.
//   - Messages and alerts carry idempotency keys; the original stored a new
//     row for every delivery, so redeliveries and the outbox relay's
//     double publish duplicated closure messages and alerts.
//   - The closure message is built from TicketResolved's extension fields
//     (e-mail, resolution, assignee) instead of GET /tickets/{id}; an event
//     without the e-mail is ErrMissingTicketData.
//   - POST /messages answers {id, inserted}; unknown ids on PUT are 404.
//   - The anonymous list still shows every customer's messages (§12.6 #16),
//     as the portal expects; this is a demo system without identities.
//
// # Best practices
//
//   - Implement Store.Add* as INSERT ... ON CONFLICT(idempotency_key) DO
//     NOTHING in the handling's transaction, and return the existing id.
//   - Use SelectMessages/SelectAlerts as the reference semantics for SQL.
package communication
