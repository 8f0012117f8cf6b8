// Package contracts holds Ticketflow's wire contracts: every message type of
// the original system as a Go struct with the original JSON field names, the
// exchange, queue and routing-key names, the publish route of each message,
// and the topology as plain data that the messaging layer converts to its own
// declaration spec.
//
// # Design
//
//	contracts ──▶ names.go      services (AppName, port), type names, exchanges, queues, keys
//	          ──▶ messages.go   one struct per message; Message / Versioned / Alert interfaces
//	          ──▶ enums.go      string enums, case-insensitive input, names or numbers
//	          ──▶ decode.go     Decode(type, body) for consumers that dispatch on `type`
//	          ──▶ topology.go   Ticketflow(), ForService(svc, instance), Validate
//	          ──▶ variant.go    the lesson variants: TicketflowWith(Variant), ForServiceWith
//	          ──▶ routing.go    TopicMatch, QueuesFor: a broker simulation for tests
//	          ──▶ executions.go what each handler or HTTP command may publish
//
// The package imports nothing from the lab: services, the messaging layer and
// the scenario checkers can all depend on it.
//
//	Inquiries ──InquirySubmitted──▶ inquiry-submitted-exchange ──▶ Tickets
//	          ──RequestTranslationV2─▶ "" / request-translation-v2-queue ──▶ Translations
//	Translations ──TranslationCompleted|Skipped──▶ translation-completed-exchange ──▶ Tickets
//	Tickets ──Ticket*──▶ tickets-exchange ──ticket-created|ticket-resolved──▶ Inquiries
//	                                      ──#──▶ SLA (sla-ticket-changes, prefetch 1)
//	                                      ──ticket-resolved──▶ Communication
//	                                      ──#.alert.#──▶ alerting ──#──▶ Communication
//	SLA ──DeadlinesCalculated──▶ sla-exchange ──deadlines-calculated──▶ Tickets (tickets-sla-changes)
//	    ──SLABreached──────────▶ sla-exchange ──#.alert.#──▶ alerting
//	every service ──MetricTick──▶ metrics-exchange ──#──▶ live-metrics (Metrics)
//	anomaly API ──AnomalyEventWrapper──▶ anomalies-sync ──<AppName>──▶ every instance
//
// # Differences from the original, and why
//
//   - Shapes are supersets. Ticket events carry "status" (so the anomaly
//     StatusFilter can really filter, spec §12.6 #12) and the data SLA and
//     Communication used to fetch with GET /tickets/{id} (type, severityLevel,
//     email, createdAt, assignedAgentUserId, resolution), so they need no
//     synchronous call that can race the event. Alerts carry "alertKey",
//     DeadlinesCalculated carries "revision", TranslationSkipped a "reason",
//     MetricTick instance, message counts and queue depths. Original consumers
//     ignore unknown fields.
//   - Versions count events: every ticket event bumps the version by one, so
//     TicketQualified and IncidentCreated of one qualification have
//     consecutive versions (the original gave both the same version and bumped
//     at most once per save, also for changes that published nothing).
//   - Unblock publishes the new TicketUnblocked (key ticket-unblocked) instead
//     of re-emitting TicketQualified (§12.6 #7); it reaches SLA through
//     sla-ticket-changes (#), which accepts it.
//   - RequestTranslationV1 is kept as a type; its queue is declared only in
//     the translation-v1 variant (Variant.TranslationV1): nothing consumed
//     it and it grew forever (§12.6 #14). The unused
//     convention exchanges and queues (deadlines-calculated-exchange,
//     request-translation-v1/v2-exchange and their queues) are not declared.
//   - Every service declares the whole static topology (idempotent), so
//     there is no start-up order (§12.6 #13).
//   - inquiries-ticket-created also binds ticket-resolved: the inquiry status
//     follows the ticket (the original never changed it, §12.6 #5).
//   - tickets-sla-changes is bound to sla-exchange with deadlines-calculated,
//     the one type Tickets consumes. The original bound it with "#" (spec
//     §6.2), so every SLABreached also landed there and was acked and dropped
//     as an unaccepted type, with a warning each time. On a broker that still
//     holds the old "#" binding (an external one: declaring never removes a
//     binding), unbind it by hand (management UI, or rabbitmqadmin delete
//     binding source=sla-exchange destination_type=queue
//     destination=tickets-sla-changes properties_key=%23).
//   - Translations and Metrics get an anomaly-sync queue too (the original had
//     one only on the four services with an admin tile).
//   - Faults route with key "fault.<kebab-inner>" instead of "fault`1"
//     (§12.6 #17), to the lab's own faults exchange and queue, declared and
//     published only in the Variant.Faults variant (the original's
//     PublishFaultOnFailure, off on master; it targeted missing exchanges).
//   - The metrics queue is consumed by push, not basic.get polling.
//   - sla-ticket-changes has x-single-active-consumer by default (the
//     original's optional M14L7 variant, spec §6.3; Variant.NoSingleActiveConsumer
//     turns it off), so `--instances sla=2` keeps every ticket's events in
//     one instance. A broker that still holds the queue
//     declared without it refuses the declaration (PRECONDITION_FAILED);
//     delete the queue there once (a lab's private node or vhost is always
//     fresh).
//
// # Ordering
//
// Versioned messages (Versioned) carry the aggregate id and version the
// messaging layer's ordering guard compares. Only sla-ticket-changes sees a
// ticket's whole event stream (it accepts every TicketEventTypes member for
// that reason), so a contiguous guard (apply last+1, hold back later ones)
// fits there and on tickets-sla-changes (DeadlinesCalculated revisions).
// inquiries-ticket-created and communication-ticket-resolved see subsets
// (versions 1 and n): a contiguous guard would hold TicketResolved back
// forever, so those consumers rely on monotonic, idempotent handlers instead.
//
// # Best practices
//
//   - Publish with RouteFor(msg, appName); never spell exchange names inline.
//   - Dispatch with Decode(type, body); treat ErrUnknownType as "ack and drop".
//   - Keep new fields optional (omitempty/omitzero) so old consumers still parse.
//   - Change the topology here and let TestTopologyRoutesEveryMessageToItsConsumers
//     prove every message still reaches a consumer that accepts it.
package contracts
