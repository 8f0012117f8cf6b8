// Package inquiries is the domain of the Inquiries service (spec §2.1, §5.1):
// the inquiry model and statuses, validation of POST /inquiries/submit,
// language detection, the messages a submission causes, linking an inquiry
// to its ticket, and the HTTP API.
//
// # Design
//
//	POST /inquiries/submit ─▶ Submitter (wiring: one transaction)
//	                             └─ Intake.Submit(store, req, now)
//	                                  validate ─▶ detect language (title + description)
//	                                  save Inquiry{Status: New}
//	                                  return InquirySubmitted [+ RequestTranslationV2 when not "en"]
//	                             └─ outbox(messages); commit
//	TicketCreated  ─▶ HandleTicketCreated  ─▶ link ticket, New → InProgress
//	TicketResolved ─▶ HandleTicketResolved ─▶ Resolved
//
// POST /inquiries/submit-sync (RegisterSync, Intake.SubmitSync) is the
// original's contrast flow: save, translate over HTTP, create the ticket over
// HTTP, publish nothing; a downstream failure is 502 and, inside the
// wiring's transaction, rolls the inquiry back. SyncClient takes the two
// URLs as configuration (the original hard-coded localhost ports).
//
// Intake.Submit is pure apart from the Store it is given; the HTTP handler
// depends only on the Submitter and Lister interfaces, so the wiring adds
// the transaction, the outbox and the anomaly points around it.
//
// Bad input is ValidationErrors (one *ValidationError per field) and the API
// answers 400 {message}: name, email and description are required, the
// e-mail must be a plain address, and fields have length limits. An unknown
// category becomes Other, as in the original.
//
// # Differences from the original, and why
//
//   - The language is really detected (language package, whatlanggo), so
//     non-English inquiries request a translation; the original's default
//     detector always answered "en".
//   - Only RequestTranslationV2 is sent; V1 had no consumer and its queue
//     grew forever (§12.6 #14). Intake.PublishV1 restores it; the setting
//     translation-v1=on (toggle translation-v1) turns it on and declares
//     the queue.
//   - The inquiry status follows the ticket: InProgress once linked,
//     Resolved when the ticket is resolved (the original stayed New forever,
//     §12.6 #5). Status only moves forward, so reordered or redelivered
//     events cannot reopen an inquiry; this needs TicketResolved bound to
//     inquiries-ticket-created (see contracts).
//   - The submission is one transaction with the outbox (the original
//     published directly, so a rollback could leave a ghost InquirySubmitted).
//   - The submit answer carries {id, languageCode}; the original returned an
//     empty 200. The list view adds languageCode.
//   - The e-mail is validated (the original accepted any non-empty text).
//
// # Wiring (service.go, sqlstore.go)
//
// Main runs the service on the shared runtime (system/ticketflow/app):
// POST /inquiries/submit is app.Exec(SubmitInquiry) over Intake.Submit
// with the messages published through the outbox; submit-sync is
// app.Exec(SubmitInquirySync) over Intake.SubmitSync, calling the URLs of the
// settings translations-url / tickets-url, else the lab's
// peer-translations-url / peer-tickets-url, else the fixed ports; the
// consumer of inquiries-ticket-created handles TicketCreated and
// TicketResolved. SQLStore implements Store (NewSQLStore on a *store.Tx) and
// Lister (NewSQLLister on the DB) over the table inquiries of Migrations
// (id, status New|InProgress|Resolved, ticket_id empty until linked,
// language_code, times as fixed-width UTC text). Effect keys:
// "inquiry:<id>:submitted|linked|resolved". Inquiry ids come from the run's
// seeded source (app.Runtime.NewID).
//
// # Best practices
//
//   - Generate inquiry ids from the run's seeded source (Intake.NewID) when
//     a scenario must be reproducible.
//   - Treat ErrNotFound from the handlers as retryable: the TicketCreated can
//     overtake the visibility of the inquiry's own commit.
package inquiries
