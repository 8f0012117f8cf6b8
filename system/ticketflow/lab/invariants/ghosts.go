package invariants

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Which service's database owns the aggregate a message type speaks about.
var (
	ticketEvents  = []string{"TicketCreated", "TicketQualified", "IncidentCreated", "AgentAssignedToTicket", "TicketBlocked", "TicketUnblocked", "TicketResolved"}
	inquiryEvents = []string{"InquirySubmitted", "RequestTranslationV1", "RequestTranslationV2"}
)

// checkNoGhostEvents (TF7): nothing reaches the broker for a change that was
// rolled back. A publish is a ghost when
//
//   - the execution it was made in (its parent span) rolled back, or
//   - the aggregate it announces is not in its owner's database at
//     quiescence, or is at a lower version than the one announced.
//
// A Fault.<T> message published by a handling that was dead-lettered
// (publish-fault-on-failure) announces that failure, not a change: it is no
// ghost. Publishes the broker nacked, and publishes that failed before they were
// sent (no channel during a broker outage), never reached a queue and are
// skipped. With
// the outbox on, a rolled-back execution leaves no publish at all, which is
// the point of the pattern.
func checkNoGhostEvents(inv Invariant, x *index) Result {
	r := newResult(inv, "publishes")
	if x.h.NumEvents() == 0 {
		r.Status, r.Reason = Inconclusive, "no spans were recorded"
		return r
	}
	for _, e := range x.v.EventsWhere(func(h *history.EventHead) bool { return h.Kind == history.KindPublish }) {
		if !e.BusinessPublish() || e.Confirm == history.ConfirmNack || neverSent(e) {
			continue
		}
		r.Checked++
		if p, ok := x.v.SpanEvent(e.ParentID); ok && x.v.RolledBack(p) {
			parent := x.ev(p)
			if faultAnnouncement(e, parent) {
				continue
			}
			r.Violations = append(r.Violations, x.ghost(e, fmt.Sprintf("published by a %s %s in %s that %s",
				parent.Kind, orName(parent), parent.Service, rolledBackWording(parent.Outcome))))
			continue
		}
		if !x.hasSnapshot() || e.AggregateID == "" {
			continue
		}
		switch {
		case slices.Contains(ticketEvents, e.MessageType):
			t, ok := x.ticket[e.AggregateID]
			if !ok {
				r.Violations = append(r.Violations, x.ghost(e, "announces a ticket that Tickets does not have"))
			} else if e.AggregateVersion > t.Version {
				r.Violations = append(r.Violations, x.ghost(e, fmt.Sprintf("announces v%d, Tickets is at v%d", e.AggregateVersion, t.Version)))
			}
		case slices.Contains(inquiryEvents, e.MessageType):
			if _, ok := x.inquiry[e.AggregateID]; !ok {
				r.Violations = append(r.Violations, x.ghost(e, "announces an inquiry that Inquiries does not have"))
			}
		case e.MessageType == "DeadlinesCalculated":
			if len(x.reminders[e.AggregateID]) == 0 {
				r.Violations = append(r.Violations, x.ghost(e, "announces a deadline that SLA does not have"))
			}
		}
	}
	return finish(r)
}

// faultPrefix starts the type of a Fault.<T> message (Ticketflow's
// contracts.FaultTypePrefix).
const faultPrefix = "Fault."

// faultAnnouncement reports whether e is the Fault.<T> message a handling
// publishes when it gives the message up (dead-lettered).
func faultAnnouncement(e, parent *history.Event) bool {
	return strings.HasPrefix(e.MessageType, faultPrefix) && parent.Outcome == history.OutcomeDeadLettered
}

// neverSent reports whether a publish failed before it was handed to the
// broker (no channel, the send itself failed): it has an error and no
// confirm outcome at all. Such a message reached no queue, so it cannot be a
// ghost. (A publish whose confirm timed out may have arrived; it counts.)
func neverSent(e *history.Event) bool { return e.Error != "" && e.Confirm == "" }

func (x *index) ghost(e *history.Event, why string) Violation {
	msgs := []string{e.MessageID}
	traces := []string{e.TraceID.String()}
	for _, n := range x.v.HandlingsN(e.MessageID) { // who acted on it
		traces = appendUnique(traces, x.head(n).TraceID.String())
	}
	subject := fmt.Sprintf("%s %s", e.MessageType, e.MessageID)
	if e.AggregateID != "" {
		subject += " about " + e.AggregateID
	}
	return Violation{Category: Unexpected, Subject: subject, Detail: "ghost event: " + why, MessageIDs: msgs, TraceIDs: traces}
}

func orName(e *history.Event) string {
	if e.MessageType != "" {
		return "of " + e.MessageType
	}
	if e.Name != "" {
		return e.Name
	}
	return "execution"
}

func rolledBackWording(outcome string) string {
	switch outcome {
	case history.OutcomeRetried:
		return "failed and was retried"
	case history.OutcomeDeadLettered:
		return "failed and was dead-lettered"
	}
	return "failed"
}
