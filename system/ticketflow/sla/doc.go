// Package sla is the domain of the SLA service (spec §2.4, §5.3–5.8): signed
// agreements by customer e-mail domain, the per-ticket SLA record, the
// handling of ticket events, and a pure scheduler that says which reminders
// and breach alerts are due — each with an idempotency key — so the
// effect-exactly-once checker can count them.
//
// # Design
//
//	ticket event ──▶ Tracker.Handle(store, ev, now) ──▶ Record (+ DeadlinesCalculated to publish)
//	scheduler loop: for each open record
//	    NextDue(cfg, rec, now) ──▶ sleep on the service clock until then
//	    Due(cfg, rec, now) ──▶ []Action{Kind, N, Key, AgentUserID}
//	    Effects(action) ──▶ AgentMessage (POST /messages) and/or SLABreached (outbox)
//	    MarkDone(rec, action, now); save rec  (same transaction as the outbox row)
//
// Timing, with window = agreed duration, anchored on the ticket's creation:
//
//	|──────────────── window ────────────────|deadline
//	     25 %          50 %        final      +BreachDelay   +BreachInterval ...
//	  reminder:1    reminder:2   reminder:3   breach:1       breach:2
//	final = deadline − 15 min, or 90 % of the window when it is under an hour
//
// Reminder times are fractions of the window, so a one-minute VIP SLA runs
// its whole schedule in about a minute and a half (tests use that with a fake
// clock). Times are stored in an "active" frame that excludes blocked time:
// a block pauses everything and an unblock shifts every pending time, the
// deadline and the breach timer by the blocked duration, and publishes a new
// DeadlinesCalculated (revision + 1).
//
// Reminders go only to the assigned agent and only before the deadline. An
// agent assigned late gets the latest reminder whose time has come, not all
// overdue ones; the earlier ones are marked skipped. Idempotency keys:
//
//	reminder:<ticket>:<1|2|3>   breach:<ticket>:<n>   breach-message:<ticket>:<n>
//
// Agreements: devmentors.io is seeded VIP with Low 30 min, Medium 15, High 3,
// Critical 1 (incidents and questions); everyone else gets the Standard
// defaults Low 7 days, Medium 3 days, High 1 day, Critical 1 hour.
//
// # Wiring (main.go, sqlstore.go, scheduler.go, settings.go)
//
//	sla-ticket-changes (single active consumer, prefetch 1, app.Ordered("ticket"))
//	    ──▶ Tracker.Handle(SQLStore(tx))
//	    └─ DeadlinesCalculated ──▶ tx.Publish (outbox) ; commit ──▶ Scheduler.Wake
//	Scheduler.Run: DueTickets(now) (sla_records.next_due_ms <= now)
//	    per action: SQLClaims.Claim (sla_claims; only with an agent message), reload, still due?
//	                MessageClient.Send (POST /messages, idempotency key)
//	                Runtime.Exec("SLADeadlineWatch"): reload, still due?, MarkDone,
//	                SLABreached ──▶ outbox, sla_effects row, claim deleted, save   (one transaction)
//	    sleep until NextDueAt on the service clock (at most sla-max-wait) or Wake
//
// SaveRecord stores NextDue (rounded up to the millisecond) in next_due_ms,
// so the loop finds due records with one indexed query. The agent message
// is posted before the transaction: a crash or a failed commit repeats it
// with the same key (Communication stores a key once), and the action is
// recorded exactly once in sla_effects, which checkers read with the
// sla_records columns. Each action runs under one span "sla action"
// (lab.sla.action = its key): the POST /messages carries its traceparent, so
// Communication's PostMessage command, the SLADeadlineWatch command and the
// SLABreached alert with its handlings are one trace. Settings: sla-scale (multiplies every agreed
// duration), breach-delay, breach-interval, communication-url (default: the
// lab's lab.json, else http://127.0.0.1:5148), sla-max-wait, sla-claim-ttl.
//
// # Several instances (`tflab up --instances sla=2`)
//
// One instance is active, the others are hot standbys:
//
//   - sla-ticket-changes is declared with x-single-active-consumer (in the
//     shared topology, contracts). Every instance consumes it, the broker
//     delivers to one; when that one's connection goes (stop, crash, kill,
//     or a pause past the heartbeat timeout) the next consumer gets the
//     queue, unacked deliveries included. As competing consumers each
//     instance got part of every ticket's events and its ordering guard
//     (messaging.OrderedFrom) held the rest back.
//   - The instances share one database: the lab gives every instance of a
//     service the same SQLite file (internal/lab; WAL, several processes on
//     one host). The standby must find what the active instance stored: the
//     SLA records, the inbox and the ordering guard's last versions. With a
//     database per instance a takeover started empty: the next event of a
//     running ticket was "early" for the guard (it waits for version 1) or
//     found no record, and the ticket's reminders and breaches were lost
//     with the dead instance. That is why the lab shares the file rather
//     than documenting the loss.
//   - Every instance runs the scheduler loop over the shared records, so a
//     standby goes on with reminders at once, whatever the consumer does.
//     The action's transaction re-checks that the action is still due, so
//     its database effects (sla_effects, the SLABreached outbox row) are
//     committed once by construction. The agent message is posted before
//     that transaction, so it is claimed first (sla_claims, holder = the
//     instance id, expiry sla-claim-ttl, default 30 s, in wall-clock time):
//     the instance that holds a live claim posts, the others skip the action
//     and find it done at their next scan. After claiming, the record is
//     read again, so an instance that saw the action due before another one
//     committed it does not post it again. Each reminder is sent once (TF2).
//     What remains is the single-instance crash window: an instance killed
//     between the POST and its commit leaves its claim, and the action is
//     repeated with the same idempotency key once the claim expired
//     (Communication stores the key once with its idempotency protection).
//     An action that takes longer than the claim TTL may also be repeated.
//   - The messaging layer relays the shared outbox from one instance only
//     (its outbox lease); the other instance's DeadlinesCalculated waits for
//     the holder's next outbox poll, and after the holder died for its
//     lease to expire (5 s by default).
//   - Each scheduler reads its own instance's clock: with a clock offset on
//     one instance (the clock-skew anomaly), an action runs when the first
//     instance finds it due.
//
// Changing a queue's arguments makes the broker refuse the declaration of
// the existing queue (PRECONDITION_FAILED). Every lab starts on a fresh
// private node or in a fresh vhost, so this never shows there; against an external
// broker that still has sla-ticket-changes without
// x-single-active-consumer, delete that queue once.
//
// # Differences from the original, and why
//
//   - Reminder times are honoured (the original computed them and sent all
//     three within seconds of assignment; its final time was request − 15
//     min, §12.6 #1). The schedule is 25 %/50 %/final as above.
//   - Block pauses reminders and breach alerts and unblock shifts them (the
//     original ignored TicketBlocked and kept counting, §12.6 #6). Unblock is
//     the TicketUnblocked event, not a second TicketQualified.
//   - DeadlineMet is true when the ticket was resolved in time (the original
//     stored the opposite, §12.6 #3); a breach sets it false.
//   - Breach timing is computed, not polled every 5 ms (§12.6 #2): the first
//     SLABreached BreachDelay (2 min) after the deadline, then every
//     BreachInterval (2 min), both configurable.
//   - Ticket data (type, severity, createdAt, e-mail, assignee) comes in the
//     events instead of GET /tickets/{id}, which raced the event.
//   - Records are keyed by ticket id; a missing record for an assignment or
//     block is ErrEarly (retry), stale versions are ignored (the original's
//     out-of-order check), TicketCreated/IncidentCreated only advance the
//     version so the per-ticket version stream stays gap-free.
//   - Reminder and breach messages carry idempotency keys, so a retried POST
//     to Communication delivers once.
//   - Several SLA instances are an active one and hot standbys on one
//     database (see above); the original's single-active-consumer variant
//     (lesson M14L7) is on by default (setting sla-single-active-consumer).
//   - The course's quirks are settings, off by default: sla-reminders=at-once,
//     sla-blocking=ignored, sla-deadline-met=original (Config).
//   - The queue layout is a lesson variant (setting sla-queues): one
//     sla-ticket-changes (default), topic-per-type queues consumed without
//     the ordering guard, or consistent-hash partitions, each behind the
//     guard, every ticket's events in one partition (hash-on = ticket id).
//
// # Best practices
//
//   - Handle ticket events with prefetch 1 (or per-ticket ordering) as the
//     original did; Handle is idempotent per version either way. With
//     several instances keep the single active consumer and one database.
//   - Read time only through the service's clock.Clock; a skewed clock moves
//     every due time of that instance, which is the clock-skew anomaly.
//   - Perform an action's effects, then MarkDone and save in one
//     transaction with the outbox row, so a crash repeats the action with the
//     same key rather than losing or duplicating it.
package sla
