package check

import (
	"fmt"
	"sort"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// checkBoundedRedelivery (TF8): a message that keeps failing in a service is
// retried at most Limits.MaxAttempts times and then settles (acked or
// dead-lettered) — no endless requeue loop; every handling that dead-lettered
// a message has it in a dead-letter queue at the end, and everything in a
// dead-letter queue was put there by a handling (accounted for). A failed
// handling of an attempt already seen failing in that service, delivered
// without the redelivered flag, is a second copy of that attempt (its retry
// publish was republished after a lost or late confirm) and is not counted
// again; a broker redelivery (requeue, lost ack) is.
func checkBoundedRedelivery(inv Invariant, x *index) Result {
	r := newResult(inv, "handled messages and dead letters")
	if x.h.NumEvents() == 0 {
		r.Status, r.Reason = Inconclusive, "no spans were recorded"
		return r
	}
	limit := x.h.Meta.Limits.MaxAttemptsOrDefault()
	ids := make([]string, 0, 64)
	for id, hs := range x.handlings {
		r.Checked++
		for _, n := range hs {
			if h := x.head(n); h.Failed() {
				ids = append(ids, id)
				break
			}
		}
	}
	sort.Strings(ids)
	type key struct{ service, id string }
	failedAttempts := func(id, service string) int {
		seen := map[int]bool{}
		n := 0
		for _, i := range x.handlings[id] {
			if h := x.head(i); h.Service != service || !h.Failed() {
				continue
			}
			e := x.ev(i)
			if e.Attempt > 0 && !e.Redelivered {
				if seen[e.Attempt] {
					continue
				}
				seen[e.Attempt] = true
			}
			n++
		}
		return n
	}
	dlHandled := map[key]bool{}
	for _, id := range ids {
		type tally struct {
			failures int
			last     history.EventHead
			traces   []string
		}
		per := map[string]*tally{}
		var services []string
		for _, n := range x.handlings[id] {
			e := x.head(n)
			t := per[e.Service]
			if t == nil {
				t = &tally{}
				per[e.Service] = t
				services = append(services, e.Service)
			}
			if e.Failed() {
				t.failures++
			}
			if e.Outcome == history.OutcomeDeadLettered {
				dlHandled[key{e.Service, id}] = true
			}
			t.last = e
			t.traces = appendUnique(t.traces, e.TraceID.String())
		}
		for _, svc := range services {
			t := per[svc]
			if t.failures == 0 {
				continue
			}
			subject := fmt.Sprintf("%s %s in %s", t.last.MessageType, id, svc)
			if t.failures > limit {
				t.failures = failedAttempts(id, svc) // only over the limit: it reads whole events
			}
			switch {
			case t.failures > limit:
				r.Violations = append(r.Violations, Violation{Category: UnboundedRedelivery, Subject: subject,
					Detail:     fmt.Sprintf("failed %d times, limit %d, last outcome %s", t.failures, limit, t.last.Outcome),
					MessageIDs: []string{id}, TraceIDs: t.traces})
			case t.last.Failed() && t.last.Outcome != history.OutcomeDeadLettered:
				r.Violations = append(r.Violations, Violation{Category: UnboundedRedelivery, Subject: subject,
					Detail:     fmt.Sprintf("still failing at quiescence after %d attempts (never acked nor dead-lettered)", t.failures),
					MessageIDs: []string{id}, TraceIDs: t.traces})
			case t.last.Outcome == history.OutcomeDeadLettered && !x.inDeadLetterQueue(id, svc):
				r.Violations = append(r.Violations, Violation{Category: Lost, Subject: subject,
					Detail:     "dead-lettered by the handler but in no dead-letter queue",
					MessageIDs: []string{id}, TraceIDs: t.traces})
			}
		}
	}
	for _, d := range x.h.Snapshot.DeadLetters {
		r.Checked++
		if dlHandled[key{d.Service, d.MessageID}] || (d.Service == "" && x.anyDeadLettered(d.MessageID)) {
			continue
		}
		var traces []string
		for _, n := range x.publishes[d.MessageID] {
			traces = appendUnique(traces, x.head(n).TraceID.String())
		}
		r.Violations = append(r.Violations, Violation{Category: UnaccountedDeadLetter,
			Subject:    fmt.Sprintf("%s %s in %s", d.MessageType, d.MessageID, d.Queue),
			Detail:     fmt.Sprintf("in a dead-letter queue (reason %q) but no handling dead-lettered it", d.Reason),
			MessageIDs: []string{d.MessageID}, TraceIDs: traces})
	}
	return finish(r)
}

func (x *index) inDeadLetterQueue(id, service string) bool {
	for _, d := range x.deadLetter[id] {
		if d.Service == "" || d.Service == service {
			return true
		}
	}
	return false
}

func (x *index) anyDeadLettered(id string) bool {
	for _, n := range x.handlings[id] {
		if x.head(n).Outcome == history.OutcomeDeadLettered {
			return true
		}
	}
	return false
}
