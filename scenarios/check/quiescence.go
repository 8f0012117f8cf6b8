package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// quiescenceID is TF10's id. Evaluate judges TF10 in every run, also when a
// scenario selects its invariants: the other invariants are judged at
// quiescence, so whether the run got there is a precondition of their verdicts.
const quiescenceID = "TF10"

// heldShown bounds the message ids a TF10 finding names per queue.
const heldShown = 20

// checkQuiescence (TF10): when the run ends every queue of the system is
// drained and no delivery is left unacked. It reads the broker's holdings
// (Snapshot.Holdings); dead-letter queues are TF8's and only counted there.
// A history without holdings (a run saved before they were recorded) is
// INCONCLUSIVE.
func checkQuiescence(inv Invariant, x *index) Result {
	r := newResult(inv, "queues")
	hd := x.h.Snapshot.Holdings
	if hd == nil {
		r.Status, r.Reason = Inconclusive, "no broker holdings recorded"
		return r
	}
	var stuck []string
	for _, q := range hd.Queues {
		r.Checked++
		if !q.Held() {
			continue
		}
		var msgs, traces []string
		for _, m := range q.Messages {
			if len(msgs) == heldShown {
				break
			}
			msgs = appendUnique(msgs, m.MessageID)
			if ps := x.publishes[m.MessageID]; len(ps) > 0 {
				traces = appendUnique(traces, x.ev(ps[0]).TraceID.String())
			}
		}
		d := describeHolding(q, hd)
		stuck = append(stuck, q.Queue+": "+d)
		r.Violations = append(r.Violations, Violation{Category: Stuck, Subject: "queue " + q.Queue, Detail: d,
			MessageIDs: msgs, TraceIDs: traces})
	}
	r.Reason = strings.Join(stuck, "; ")
	if hd.Error != "" {
		if r.Reason != "" {
			r.Reason += "; "
		}
		r.Reason += "holdings partly read: " + hd.Error
		if len(r.Violations) == 0 {
			r.Status = Inconclusive // what was not read may hold messages
		}
	}
	return finish(r)
}

// describeHolding words what a queue held and who held it:
// "90 ready, 1 unacked for 74 s by sla (prefetch 1)".
func describeHolding(q history.QueueHolding, hd *history.Holdings) string {
	parts := []string{fmt.Sprintf("%d ready", q.Ready)}
	if q.Unacked > 0 {
		u := fmt.Sprintf("%d unacked", q.Unacked)
		if !q.UnackedSince.IsZero() && hd.At.After(q.UnackedSince) {
			u += fmt.Sprintf(" for %d s", int(hd.At.Sub(q.UnackedSince).Round(time.Second)/time.Second))
		}
		if len(q.Consumers) > 0 {
			u += " by " + consumersOf(q)
		}
		parts = append(parts, u)
	}
	if len(q.Consumers) == 0 {
		parts = append(parts, "no consumer")
	}
	if q.NotRead > 0 {
		parts = append(parts, fmt.Sprintf("%d not read", q.NotRead))
	}
	s := strings.Join(parts, ", ")
	if len(hd.Blocked) > 0 {
		s += "; blocked connections: " + strings.Join(hd.Blocked, ", ")
	}
	return s
}

// consumersOf lists a queue's consumers: "sla (prefetch 1)".
func consumersOf(q history.QueueHolding) string {
	var out []string
	for _, c := range q.Consumers {
		who := c.Service
		if who == "" {
			who = c.Connection
		}
		out = append(out, fmt.Sprintf("%s (prefetch %d)", who, c.Prefetch))
	}
	return strings.Join(out, ", ")
}

// stuckReason says why a queue keeps its messages, when the holdings tell:
// no consumer, consumers whose every prefetch slot holds an unacked
// delivery, or connections the broker blocked. Empty when unknown.
func stuckReason(q history.QueueHolding, hd *history.Holdings) string {
	var why []string
	switch {
	case len(q.Consumers) == 0:
		why = append(why, "no consumer")
	case q.Unacked > 0 && saturated(q):
		d := "deliveries"
		if q.Unacked == 1 {
			d = "delivery"
		}
		s := fmt.Sprintf("a consumer holding %d unacked %s", q.Unacked, d)
		if !q.UnackedSince.IsZero() && hd.At.After(q.UnackedSince) {
			s += fmt.Sprintf(" for %d s", int(hd.At.Sub(q.UnackedSince).Round(time.Second)/time.Second))
		}
		why = append(why, s+" with "+strings.ReplaceAll(consumersOf(q), " (prefetch", " (at prefetch"))
	}
	if len(hd.Blocked) > 0 {
		why = append(why, "blocked connection "+strings.Join(hd.Blocked, ", "))
	}
	return strings.Join(why, "; ")
}

// saturated reports whether every consumer has a prefetch limit and the
// unacked deliveries fill all of them: the broker hands out nothing more.
func saturated(q history.QueueHolding) bool {
	sum := 0
	for _, c := range q.Consumers {
		if c.Prefetch <= 0 {
			return false
		}
		sum += c.Prefetch
	}
	return q.Unacked >= sum
}

// account reclassifies a safety invariant's gaps against the broker's
// holdings and merges findings about one defect (mergeFindings):
//
//   - a lost or diverged subject whose message, or an upstream message of
//     its flow (same message id, aggregate id or correlation id), a queue
//     still holds is stuck in that queue, with the reason when known;
//   - one that no held message explains while a queue held more messages
//     than were read is unaccounted (possibly stuck), not lost;
//   - otherwise it stays as the checker found it.
//
// A result whose only findings are stuck or possibly stuck is INCONCLUSIVE
// with a reason naming TF10 and the queues: nothing was shown lost or
// duplicated, but the run did not finish. Without holdings only the merge
// applies. TF10's own result is returned as it is.
func account(r Result, hd *history.Holdings) Result {
	if r.ID == quiescenceID || len(r.Violations) == 0 {
		return r
	}
	if hd != nil {
		for i := range r.Violations {
			classify(&r.Violations[i], hd)
		}
	}
	r.Violations = mergeFindings(r.Violations)
	var queues []string
	for _, v := range r.Violations {
		if !v.Category.heldBack() {
			r.Status = Violated
			return r
		}
		queues = appendUnique(queues, v.queue)
	}
	n := len(r.Violations)
	r.Status = Inconclusive
	r.Reason = fmt.Sprintf("%d %s held back in %s: nothing shown lost or duplicated, but the run did not finish (%s Quiescence)",
		n, plural(n, "subject", "subjects"), strings.Join(queues, ", "), quiescenceID)
	return r
}

// classify marks a lost or diverged finding stuck or possibly stuck (see account).
func classify(v *Violation, hd *history.Holdings) {
	if v.Category != Lost && v.Category != Diverged {
		return
	}
	id := v.Subject[strings.LastIndexByte(v.Subject, ' ')+1:]
	var where []string
	for _, q := range hd.Queues {
		matched := false
		for _, m := range q.Messages {
			if m.AggregateID == id || m.CorrelationID == id || slices.Contains(v.MessageIDs, m.MessageID) {
				matched = true
				v.MessageIDs = appendUnique(v.MessageIDs, m.MessageID)
			}
		}
		if !matched {
			continue
		}
		w := "stuck in " + q.Queue
		if why := stuckReason(q, hd); why != "" {
			w += ": " + why
		}
		where = append(where, w)
		if v.queue == "" {
			v.queue = q.Queue
		}
	}
	if len(where) > 0 {
		v.Category = Stuck
		v.Detail += "; " + strings.Join(where, "; ")
		return
	}
	var unread []string
	for _, q := range hd.Queues {
		if q.NotRead > 0 {
			unread = append(unread, fmt.Sprintf("%s (%d messages not read)", q.Queue, q.NotRead))
		}
	}
	if len(unread) > 0 {
		v.Category = PossiblyStuck
		v.Detail += "; unaccounted: possibly stuck in " + strings.Join(unread, ", ")
		v.queue = strings.Join(unread, ", ")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
