// Package e2e holds the end-to-end test of the whole Ticketflow system: the
// tflab binary is built, `tflab up` starts the six services on a real
// RabbitMQ (each behind its Toxiproxy proxy, exactly as a user runs it), the
// seeded workload generator (scenarios/workload) takes inquiries in five
// languages through their whole lifecycle over the public HTTP APIs, and the
// test then reads every service's SQLite database read-only at quiescence.
//
// # Design
//
//	go build ./cmd/tflab ─▶ tflab up --ports random --amqp-url <private node, own vhost>
//	        workload.Run ─▶ submit, wait, qualify, assign, block/unblock, resolve
//	        poll (deadline) until every outbox row is sent and every expected
//	        row exists ─▶ assert, per database:
//	          inquiries      Resolved (or InProgress) with their ticket id, detected language
//	          tickets        final status, type/severity, translation (non-English), SLA deadline
//	          sla            a record per qualified ticket: tier, deadline = the ticket's, completed
//	          communication  exactly one closure message per resolved ticket, one incident alert
//	          translations   one request handled and one result published per non-English inquiry
//	          metrics        ticks received; /live-metrics/latest lists all six services
//
// The package has no non-test code: it is the one place where system/ code
// (the test) uses scenarios/ (the workload generator), because the generator
// is the system's real client. Tests need the integration tag.
//
// # Best practices
//
//   - Decide quiescence from the databases (outboxes drained, expected rows
//     present), polled with a deadline; never sleep.
//   - Give each test its own vhost on the shared node, so a lab's leftovers
//     cannot reach the next one.
//   - On failure the test keeps the run directory (logs, spans, databases)
//     and logs its path.
package e2e
