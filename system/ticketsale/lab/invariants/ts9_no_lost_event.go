package invariants

import (
	"fmt"
	"slices"
	"sort"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
)

// promise is an event a committed change owes: subject about aggregate id
// at version, caused by cause; count is how many (payments and expiration
// jobs publish one per row, all at version 0).
type promise struct {
	subject, id string
	version     int64
	cause       string
	count       int
}

// promises derives the events the stores' state owes: every tickets master
// write (ticket:created at version 0, else ticket:updated), every orders
// master write that creates or cancels an order (and, fixed paymentGuards,
// completes it: order:updated), every payment (payment:created) and every
// expiration job done (expiration:complete).
func promises(s *Snapshot, tg common.Toggles) []promise {
	var out []promise
	for _, w := range writesOf(s, common.EntityTicket) {
		p := promise{subject: common.SubjectTicketUpdated, id: w.ID, version: w.Version, cause: w.Cause, count: 1}
		if w.Version == 0 {
			p.subject = common.SubjectTicketCreated
		}
		out = append(out, p)
	}
	for _, w := range writesOf(s, common.EntityOrder) {
		p := promise{id: w.ID, version: w.Version, cause: w.Cause, count: 1}
		switch st := dataOf(w).Status; {
		case w.Version == 0:
			p.subject = common.SubjectOrderCreated
		case st == common.OrderCancelled:
			p.subject = common.SubjectOrderCancelled
		case st == common.OrderComplete && tg.Fixed(common.PaymentGuards):
			p.subject = common.SubjectOrderUpdated
		default:
			continue
		}
		out = append(out, p)
	}
	counted := func(subject, cause string, ids []string) {
		n := map[string]int{}
		var order []string
		for _, id := range ids {
			if n[id] == 0 {
				order = append(order, id)
			}
			n[id]++
		}
		for _, id := range order {
			out = append(out, promise{subject: subject, id: id, cause: cause, count: n[id]})
		}
	}
	var paid, expired []string
	for _, p := range s.Payments {
		paid = append(paid, p.OrderID)
	}
	for _, j := range s.Jobs {
		if j.State == snapshot.JobDone {
			expired = append(expired, j.OrderID)
		}
	}
	counted(common.SubjectPaymentCreated, "payment recorded", paid)
	counted(common.SubjectExpirationComplete, "expiration job done", expired)
	return out
}

// checkNoLostEvent (TS9): every event the stores owe (promises) was
// published with the broker's confirm, and every service that listens to
// its subject acked it at least once. A missing publish is lost (the
// change committed, its event never left, L8/L9); a missing handling is
// accounted when the service dead-lettered it, stuck when the broker still
// holds it, possibly stuck when a queue held unread messages, else lost.
// Repeated handlings are TS10's.
func checkNoLostEvent(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("events")
	type key struct {
		subject, id string
		version     int64
	}
	published := map[key][]string{}
	acked := map[[2]string]bool{} // service, message id
	spans := 0
	for i := range in.Events {
		e := &in.Events[i]
		switch {
		case e.Kind == history.KindPublish && confirmed(e):
			spans++
			k := key{e.MessageType, e.AggregateID, e.AggregateVersion}
			if !slices.Contains(published[k], e.MessageID) {
				published[k] = append(published[k], e.MessageID)
			}
		case e.Kind == history.KindProcess && e.Outcome == history.OutcomeAcked:
			spans++
			acked[[2]string{e.Service, e.MessageID}] = true
		}
	}
	ps := promises(s, in.toggles())
	if spans == 0 {
		if len(ps) > 0 {
			r.Status, r.Reason = check.Inconclusive, fmt.Sprintf("%d events owed, but no publish or handling spans were recorded", len(ps))
			return r
		}
		return finish(r, "no events owed")
	}
	listeners := map[string][]string{}
	for svc, subjects := range common.Listens {
		for _, sub := range subjects {
			listeners[sub] = append(listeners[sub], svc)
		}
	}
	for _, l := range listeners {
		sort.Strings(l)
	}
	var accounted []string
	for _, p := range ps {
		r.Checked++
		ids := published[key{p.subject, p.id, p.version}]
		subject := subjectOf(entityOfSubject(p.subject), p.id)
		if len(ids) < p.count {
			cat, _ := in.heldOr(check.Lost, p.id)
			r.Violations = append(r.Violations, check.Violation{Category: cat, Subject: subject, Effect: p.subject,
				Detail:   fmt.Sprintf("%s at version %d committed (%s), %d owed, %d published with a confirm", p.subject, p.version, p.cause, p.count, len(ids)),
				TraceIDs: in.tracesOf(p.id)})
		}
		for _, id := range ids {
			for _, svc := range listeners[p.subject] {
				if acked[[2]string{svc, id}] {
					continue
				}
				if in.deadLettered(svc, id) {
					accounted = append(accounted, subject)
					continue
				}
				cat, queue := in.held(id, p.id)
				detail := fmt.Sprintf("%s at version %d (message %s) published, %s never acked it", p.subject, p.version, id, svc)
				if queue != "" {
					detail += "; queue " + queue + " still holds messages"
				}
				r.Violations = append(r.Violations, check.Violation{Category: cat, Subject: subject, Effect: p.subject + " to " + svc,
					Detail: detail, MessageIDs: []string{id}, TraceIDs: in.tracesOf(p.id)})
			}
		}
	}
	if len(accounted) > 0 {
		r.Notes = append(r.Notes, check.Note{Category: check.Accounted, Count: len(accounted), Example: accounted[0]})
	}
	return finish(r, "no events owed")
}

// entityOfSubject is the master entity a subject is about.
func entityOfSubject(subject string) string {
	switch subject {
	case common.SubjectTicketCreated, common.SubjectTicketUpdated:
		return common.EntityTicket
	}
	return common.EntityOrder
}
