// Package tickets is the domain of the Tickets service (spec §2.2, §5): the
// ticket aggregate and its state machine, the agent directory, the parking of
// translations that overtake their inquiry, the use cases (Desk) and the HTTP
// API. It has no messaging and no SQL: stores are small interfaces.
//
// # Design
//
// The aggregate records the events it causes; the caller drains them with
// TakeEvents and hands them to the outbox in the same transaction:
//
//	           ┌────────────── one DB transaction (wiring) ──────────────┐
//	message ──▶│ Desk.HandleX / Desk.Execute(cmd) ─▶ Ticket methods        │
//	HTTP cmd ─▶│        repo.SaveTicket(t)          t.TakeEvents() ─▶ outbox│
//	           └──────────────────────────────────────────────────────────┘
//
// State machine (id = inquiry id; every arrow that names an event bumps the
// version by one):
//
//	create ─TicketCreated(v1)─▶ WaitingForScheduledAction ─translation─▶ BeforeQualification
//	                       └──▶ BeforeQualification (English, or a parked translation)
//	BeforeQualification ─qualify: TicketQualified (+IncidentCreated)─▶ Qualified
//	Qualified|Blocked   ─assign once: AgentAssignedToTicket─▶ same status
//	Qualified ─block: TicketBlocked─▶ Blocked ─unblock: TicketUnblocked─▶ Qualified
//	any but Resolved ─resolve: TicketResolved (once)─▶ Resolved
//
// Invalid transitions are *DomainError (kind ErrInvalidTransition,
// ErrAlreadyAssigned, ErrAlreadyResolved, ErrInvalidInput, ErrNotFound) with a
// message; the HTTP API answers 400 {message} (404 for not found).
//
// Translation parking: TranslationCompleted or TranslationSkipped for a
// ticket that does not exist yet is stored through ParkingStore; creation
// attaches it and deletes it. All of this happens in the Tickets service
// because the park and the ticket insert must share its transaction.
//
// # Differences from the original, and why
//
//   - Versions count events: TicketCreated is 1, every later event +1 (so
//     TicketQualified and IncidentCreated differ); attaching a translation,
//     setting the deadline and client notes publish nothing and bump nothing.
//     The original bumped at most once per save, also without an event, which
//     left gaps a contiguous ordering guard cannot accept.
//   - Unblock publishes TicketUnblocked, not TicketQualified (§12.6 #7).
//   - Only Qualified can be blocked (the original blocked any unresolved
//     ticket, and unblocking then made an unqualified ticket "Qualified").
//   - A translation only moves WaitingForScheduledAction forward; the
//     original reset any status to BeforeQualification, so a duplicate
//     translation un-qualified a ticket.
//   - TranslationSkipped is understood: parked as a skip, or it just ends the
//     wait (the original read it as a null translation and looped, §12.6 #8).
//     Parked entries are deleted once used (the original never deleted them).
//   - Resolving twice is an error, so the customer gets one closure message;
//     the internal note names the assignee (the original's name was empty).
//   - DeadlinesCalculated carries a revision; a stale one is ignored.
//   - GET /tickets/ honours ?status= (§12.6 #4); limit is 1..100.
//   - POST /tickets/ (sync flow) also records TicketCreated, so the inquiry is
//     linked; the ticket's CreatedAt is the inquiry's (the SLA anchor).
//   - Client-note timestamps are RFC 3339 for every note.
//   - Unknown agents on assign are 400 (the original failed on a foreign key).
//
// # Wiring (service.go, sqlstore.go)
//
// Main runs the service on the shared runtime (system/ticketflow/app):
//
//	inquiry-submitted-tickets-service-queue   InquirySubmitted     → Desk.HandleInquirySubmitted, events → outbox
//	translation-completed-tickets-service-queue TranslationCompleted/Skipped → Desk.HandleTranslation (park or attach)
//	tickets-sla-changes (ordering guard, scope "deadlines") DeadlinesCalculated → Desk.HandleDeadlines
//	HTTP commands → CommandRunner = app.Exec(command name, current status) over Desk.Execute
//
// SQLStore implements Repo (NewSQLRepo on the execution's *store.Tx) and
// Queries (NewSQLQueries on the DB) over two tables of Migrations:
// tickets (one row per ticket, id = inquiry id, status, version,
// deadline_utc empty when unknown, times as fixed-width UTC text) and
// parked_translations (reference_id, translated_text, skipped, parked_at).
// Effect keys on handling spans: "<EventType>:<ticket>:<version>" per event,
// "translation:<id>:attached|parked", "deadline:<id>:<revision>".
//
// # Best practices
//
//   - Run every Desk method inside one transaction together with the outbox
//     insert of the returned events; a Repo is bound to that transaction.
//   - Publish events in the order returned; their versions are consecutive.
//   - Pass the event's Status to the anomaly registry as the ticket status.
package tickets
