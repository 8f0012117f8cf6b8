package invariants

import (
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// checkConvergence (TF6): at quiescence the services agree — each inquiry is
// linked to its ticket, Tickets and SLA hold the same deadline, SLA has seen
// the last ticket version Tickets published to it, knows whether the ticket
// is resolved and whom to remind.
func checkConvergence(inv Invariant, x *index) Result {
	r := newResult(inv, "tickets")
	if !x.hasSnapshot() {
		r.Status, r.Reason = Inconclusive, "no database snapshot was taken"
		return r
	}
	var accounted notes
	for i := range x.snap.Tickets {
		t := &x.snap.Tickets[i]
		r.Checked++
		var diff []string
		var types []string
		if q, ok := x.inquiry[t.ID]; ok {
			switch {
			case q.TicketID == "":
				if id, ok := x.deadLettered(t.ID, "TicketCreated", "inquiries"); ok {
					accounted.Add(Accounted, "TicketCreated "+id, "")
				} else {
					diff = append(diff, "inquiry is not linked to its ticket")
					types = append(types, "TicketCreated")
				}
			case q.TicketID != t.ID:
				diff = append(diff, fmt.Sprintf("inquiry is linked to ticket %s", q.TicketID))
				types = append(types, "TicketCreated")
			}
		}
		recs := x.reminders[t.ID]
		if len(recs) == 1 {
			diff = x.compareSLA(t, recs[0], diff, &types, &accounted)
		} else if len(recs) == 0 {
			switch {
			case t.Deadline != nil:
				diff = append(diff, "Tickets has a deadline but SLA has no record")
				types = append(types, "DeadlinesCalculated")
			case t.Type != "":
				if id, ok := x.deadLettered(t.ID, "TicketQualified", "sla"); ok {
					accounted.Add(Accounted, "TicketQualified "+id, "")
				} else {
					diff = append(diff, fmt.Sprintf("ticket is qualified (%s) but SLA never heard of it", t.Type))
					types = append(types, "TicketQualified")
				}
			}
		}
		if len(diff) > 0 {
			msgs, traces := x.related(t.ID, types...)
			r.Violations = append(r.Violations, Violation{Category: Diverged, Subject: "ticket " + t.ID,
				Detail: strings.Join(diff, "; "), MessageIDs: msgs, TraceIDs: traces})
		}
	}
	for _, q := range x.snap.Inquiries {
		if q.TicketID != "" && x.ticket[q.TicketID] == nil {
			msgs, traces := x.related(q.ID, "TicketCreated")
			// Subject is the missing ticket: SLA's records for it are the same defect.
			r.Violations = append(r.Violations, Violation{Category: Diverged, Subject: "ticket " + q.TicketID,
				Detail: fmt.Sprintf("inquiry %s is linked to it, but Tickets does not have it", q.ID), MessageIDs: msgs, TraceIDs: traces})
		}
	}
	for ticket, recs := range sortedKeys(x.reminders) {
		if x.ticket[ticket] == nil {
			msgs, traces := x.related(ticket, "TicketQualified")
			r.Violations = append(r.Violations, Violation{Category: Diverged, Subject: "ticket " + ticket,
				Detail: fmt.Sprintf("SLA has %d record(s) for a ticket Tickets does not have", len(recs)), MessageIDs: msgs, TraceIDs: traces})
		}
	}
	r.Notes = accounted.List()
	return finish(r)
}

func (x *index) compareSLA(t *tfhistory.Ticket, rec *tfhistory.Reminder, diff []string, types *[]string, accounted *notes) []string {
	switch {
	case rec.Deadline != nil && t.Deadline == nil:
		if id, ok := x.deadLettered(t.ID, "DeadlinesCalculated", "tickets"); ok {
			accounted.Add(Accounted, "DeadlinesCalculated "+id, "")
		} else {
			diff = append(diff, "SLA computed a deadline that Tickets never stored")
			*types = append(*types, "DeadlinesCalculated")
		}
	case rec.Deadline != nil && t.Deadline != nil:
		if d := t.Deadline.Sub(*rec.Deadline); d > arithmeticTolerance || d < -arithmeticTolerance {
			diff = append(diff, fmt.Sprintf("deadline differs by %s between Tickets and SLA", d))
			*types = append(*types, "DeadlinesCalculated")
		}
	}
	// The last version Tickets published of the events SLA consumes.
	var last int64
	var lastType string
	for _, n := range x.v.AboutN(t.ID) {
		if h := x.head(n); h.Kind != history.KindPublish || !slices.Contains(slaTicketEvents, h.MessageType) {
			continue // as the test below: BusinessPublish needs a publish
		}
		e := x.ev(n)
		if !e.BusinessPublish() || !slices.Contains(slaTicketEvents, e.MessageType) || e.Confirm == history.ConfirmNack {
			continue
		}
		if p, ok := x.v.SpanEvent(e.ParentID); ok && x.v.RolledBack(p) {
			continue // a ghost: TF7's business
		}
		if e.AggregateVersion > last {
			last, lastType = e.AggregateVersion, e.MessageType
		}
	}
	if last > 0 && rec.LastKnownVersion != last {
		if id, ok := x.deadLettered(t.ID, lastType, "sla"); ok {
			accounted.Add(Accounted, lastType+" "+id, "")
		} else {
			diff = append(diff, fmt.Sprintf("SLA knows v%d, Tickets published up to v%d (%s)", rec.LastKnownVersion, last, lastType))
			*types = append(*types, slaTicketEvents...)
		}
	}
	if resolved := t.Status == "Resolved"; rec.Completed != resolved {
		diff = append(diff, fmt.Sprintf("ticket is %s but SLA completed=%t", t.Status, rec.Completed))
		*types = append(*types, "TicketResolved")
	}
	if rec.UserToRemind != t.AssignedTo {
		diff = append(diff, fmt.Sprintf("ticket assigned to %q but SLA reminds %q", t.AssignedTo, rec.UserToRemind))
		*types = append(*types, "AgentAssignedToTicket")
	}
	return diff
}
