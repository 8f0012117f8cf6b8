package invariants

import (
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"sort"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// checkExactlyOnceEffects (TF2) separates duplicated *deliveries*, which are
// legal and only counted, from duplicated *effects*, which are not (the blind
// spot of Jepsen's total-queue). Effects are read from two sides:
//
//   - the spans: an effect key (lab.effect.keys) committed by two different
//     handlings is a duplicated effect;
//   - the databases: one closure message per resolved ticket, one incident
//     alert per qualified incident, one SLA record and one DeadlinesCalculated
//     per qualified ticket, at most one reminder of each number per ticket,
//     and a reminder the SLA marked sent is in the inbox.
//
// A missing effect whose causing message sits in a dead-letter queue is
// accounted for (TF8 holds it to that), not lost.
func checkExactlyOnceEffects(inv Invariant, x *index) Result {
	r := newResult(inv, "effects")
	if x.h.NumEvents() == 0 && !x.hasSnapshot() {
		r.Status, r.Reason = Inconclusive, "no spans and no database snapshot were recorded"
		return r
	}
	var ns notes
	x.effectKeys(&r)
	x.duplicatedDeliveries(&ns)
	if x.hasSnapshot() {
		x.closureMessages(&r, &ns)
		x.incidentAlerts(&r, &ns)
		x.deadlines(&r, &ns)
		x.reminderMessages(&r)
		x.breachAlerts(&r)
	}
	r.Notes = ns.List()
	return finish(r)
}

// effectKeys: each key committed by at most one handling.
func (x *index) effectKeys(r *Result) {
	type commit struct{ events []int32 }
	keys := map[string]*commit{}
	var order []string
	for i, e := range x.h.AllEvents() {
		if len(e.EffectKeys) == 0 || !e.Committed() {
			continue
		}
		for _, k := range e.EffectKeys {
			c := keys[k]
			if c == nil {
				c = &commit{}
				keys[k] = c
				order = append(order, k)
			}
			c.events = append(c.events, int32(i))
		}
	}
	for _, k := range order {
		c := keys[k]
		r.Checked++
		if len(c.events) < 2 {
			continue
		}
		var msgs, traces []string
		redelivered, sameMessage := false, true
		for j, n := range c.events {
			e := x.ev(n)
			msgs = appendUnique(msgs, e.MessageID)
			traces = appendUnique(traces, e.TraceID.String())
			if j > 0 && e.Redelivered {
				redelivered = true
			}
			if e.MessageID != x.ev(c.events[0]).MessageID {
				sameMessage = false
			}
		}
		cause := "by different messages (a duplicate publish)"
		if sameMessage {
			cause = "by repeated deliveries of one message"
			if redelivered {
				cause = "by redeliveries of one message"
			}
		}
		v := Violation{Category: DuplicatedEffect, Subject: "effect " + k,
			Detail:     fmt.Sprintf("committed %d times in %s (spans), %s", len(c.events), x.ev(c.events[0]).Service, cause),
			MessageIDs: msgs, TraceIDs: traces}
		if effect, ticket := effectOf(k); effect != "" {
			v.Subject, v.Effect = "ticket "+ticket, effect
		}
		r.Violations = append(r.Violations, v)
	}
}

// duplicatedDeliveries counts repeated handlings of one message id by one
// service, split redelivered vs not (RabbitTestTool's nuance).
func (x *index) duplicatedDeliveries(ns *notes) {
	for _, id := range x.v.HandledMessages() {
		if len(x.v.HandlingsN(id)) < 2 {
			continue
		}
		seen := map[string]bool{}
		for _, n := range x.v.HandlingsN(id) {
			e := x.ev(n)
			if !seen[e.Service] {
				seen[e.Service] = true
				continue
			}
			c := DuplicatedDelivery
			if e.Redelivered {
				c = DuplicatedDeliveryRedelivered
			}
			ns.Add(c, e.Service+" "+id, e.TraceID.String())
		}
	}
}

func (x *index) closureMessages(r *Result, ns *notes) {
	per := map[string][]*tfhistory.Message{}
	for i := range x.snap.Messages {
		m := &x.snap.Messages[i]
		if m.Kind == tfhistory.MessageClosure {
			per[m.TicketID] = append(per[m.TicketID], m)
		}
	}
	for i := range x.snap.Tickets {
		t := &x.snap.Tickets[i]
		ms := per[t.ID]
		delete(per, t.ID)
		if t.Status != "Resolved" && len(ms) == 0 {
			continue
		}
		r.Checked++
		x.exactlyOne(r, ns, len(ms), "closure message", t.ID, "TicketResolved", "communication", messageIDs(ms))
	}
	for ticket, ms := range sortedKeys(per) {
		r.Checked++
		x.exactlyOne(r, ns, len(ms), "closure message", ticket, "TicketResolved", "communication", messageIDs(ms))
	}
}

func (x *index) incidentAlerts(r *Result, ns *notes) {
	per := map[string]int{}
	for _, a := range x.snap.Alerts {
		if a.Type == tfhistory.AlertIncident {
			per[a.TicketID]++
		}
	}
	for i := range x.snap.Tickets {
		t := &x.snap.Tickets[i]
		if t.Type != "Incident" {
			if per[t.ID] > 0 {
				msgs, traces := x.related(t.ID, "IncidentCreated")
				r.Violations = append(r.Violations, Violation{Category: Unexpected, Subject: "ticket " + t.ID,
					Detail: fmt.Sprintf("incident alert for a %s ticket", orUnknown(t.Type)), MessageIDs: msgs, TraceIDs: traces})
			}
			continue
		}
		r.Checked++
		x.exactlyOne(r, ns, per[t.ID], "incident alert", t.ID, "IncidentCreated", "communication", nil)
	}
}

func (x *index) deadlines(r *Result, ns *notes) {
	for i := range x.snap.Tickets {
		t := &x.snap.Tickets[i]
		if t.Type == "" { // never qualified: no deadline is due
			if n := len(x.reminders[t.ID]); n > 0 {
				msgs, traces := x.related(t.ID, "TicketQualified", "DeadlinesCalculated")
				r.Violations = append(r.Violations, Violation{Category: Unexpected, Subject: "ticket " + t.ID,
					Detail: "SLA record for a ticket that was never qualified", MessageIDs: msgs, TraceIDs: traces})
			}
			continue
		}
		r.Checked++
		x.exactlyOne(r, ns, len(x.reminders[t.ID]), "SLA deadline record", t.ID, "TicketQualified", "sla", nil)
		// DeadlinesCalculated: one logical message (one message id) per
		// ticket and revision. The SLA service publishes a new revision
		// (aggregate version) when an unblock shifts the deadline.
		ids := map[int64][]string{}
		var revisions []int64
		for _, n := range x.v.AboutN(t.ID) {
			if x.head(n).MessageType != "DeadlinesCalculated" {
				continue
			}
			e := x.ev(n)
			if e.BusinessPublish() && e.MessageType == "DeadlinesCalculated" && e.Confirm != history.ConfirmNack {
				if _, ok := ids[e.AggregateVersion]; !ok {
					revisions = append(revisions, e.AggregateVersion)
				}
				ids[e.AggregateVersion] = appendUnique(ids[e.AggregateVersion], e.MessageID)
			}
		}
		for _, rev := range revisions {
			if len(ids[rev]) < 2 {
				continue
			}
			_, traces := x.related(t.ID, "DeadlinesCalculated")
			r.Violations = append(r.Violations, Violation{Category: DuplicatedEffect, Subject: "ticket " + t.ID,
				Effect:     fmt.Sprintf("deadline revision %d", rev),
				Detail:     fmt.Sprintf("calculated and published %d times (distinct message ids)", len(ids[rev])),
				MessageIDs: ids[rev], TraceIDs: traces})
		}
	}
}

func (x *index) reminderMessages(r *Result) {
	type key struct {
		ticket string
		n      int
	}
	count := map[key][]*tfhistory.Message{}
	for i := range x.snap.Messages {
		m := &x.snap.Messages[i]
		if m.Kind == tfhistory.MessageReminder {
			k := key{m.TicketID, m.Reminder}
			count[k] = append(count[k], m)
		}
	}
	keys := make([]key, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ticket != keys[j].ticket {
			return keys[i].ticket < keys[j].ticket
		}
		return keys[i].n < keys[j].n
	})
	for _, k := range keys {
		r.Checked++
		if ms := count[k]; len(ms) > 1 {
			r.Violations = append(r.Violations, Violation{Category: DuplicatedEffect, Subject: "ticket " + k.ticket,
				Detail: fmt.Sprintf("reminder #%d sent %d times (inbox rows %v)", k.n, len(ms), messageIDs(ms))})
		}
	}
	for _, rec := range x.snap.Reminders {
		for n, sent := range []bool{rec.FirstSent, rec.SecondSent, rec.FinalSent} {
			if sent && len(count[key{rec.TicketID, n + 1}]) == 0 {
				r.Checked++
				r.Violations = append(r.Violations, Violation{Category: Lost, Subject: "ticket " + rec.TicketID,
					Detail: fmt.Sprintf("SLA marked reminder #%d sent but the inbox has none", n+1)})
			}
		}
	}
}

func (x *index) breachAlerts(r *Result) {
	per := map[string]int{}
	for _, a := range x.snap.Alerts {
		if a.Type == tfhistory.AlertSLA && a.Key != "" {
			per[a.Key]++
		}
	}
	for k, n := range sortedKeys(per) {
		r.Checked++
		if n > 1 {
			r.Violations = append(r.Violations, Violation{Category: DuplicatedEffect, Subject: "SLA alert " + k,
				Detail: fmt.Sprintf("breach alert stored %d times", n)})
		}
	}
}

// exactlyOne judges a count of one effect about ticket: 0 is lost (unless its
// cause was dead-lettered), more than 1 is a duplicated effect.
func (x *index) exactlyOne(r *Result, ns *notes, n int, what, ticket, causeType, consumer string, rows []string) {
	switch {
	case n == 1:
	case n == 0:
		if id, ok := x.deadLettered(ticket, causeType, consumer); ok {
			ns.Add(Accounted, causeType+" "+id, "")
			return
		}
		msgs, traces := x.related(ticket, causeType)
		r.Violations = append(r.Violations, Violation{Category: Lost, Subject: "ticket " + ticket, Effect: what,
			Detail: fmt.Sprintf("no %s in %s's database", what, consumer), MessageIDs: msgs, TraceIDs: traces})
	default:
		msgs, traces := x.related(ticket, causeType)
		detail := fmt.Sprintf("%d %ss in %s's database", n, what, consumer)
		if len(rows) > 0 {
			detail += fmt.Sprintf(" (rows %v)", rows)
		}
		r.Violations = append(r.Violations, Violation{Category: DuplicatedEffect, Subject: "ticket " + ticket, Effect: what,
			Detail: detail, MessageIDs: msgs, TraceIDs: traces})
	}
}

// effectOf names the database effect an effect key (lab.effect.keys) stands
// for and the ticket it is about, so that a duplicate seen in the spans and
// the same duplicate seen in the rows are one finding: "closure:<ticket>" is
// a closure message, "incident:<ticket>" an incident alert,
// "deadlines:<ticket>:<revision>" a deadline revision. Other keys name no
// effect ("", "").
func effectOf(key string) (effect, ticket string) {
	kind, rest, ok := strings.Cut(key, ":")
	if !ok {
		return "", ""
	}
	switch kind {
	case "closure":
		return "closure message", rest
	case "incident":
		return "incident alert", rest
	case "deadlines":
		if id, rev, ok := strings.Cut(rest, ":"); ok {
			return "deadline revision " + rev, id
		}
	}
	return "", ""
}

func messageIDs(ms []*tfhistory.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func orUnknown(s string) string {
	if s == "" {
		return "not yet typed"
	}
	return s
}

// sortedKeys iterates a map in key order, so violations come out stable.
func sortedKeys[V any](m map[string]V) func(yield func(string, V) bool) {
	return func(yield func(string, V) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
