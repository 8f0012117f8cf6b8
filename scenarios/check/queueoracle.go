package check

import (
	"fmt"
	"sort"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// queueOracleID is Q1's id. Evaluate judges Q1 in every run on a cluster,
// also when the scenario selects its invariants, and skips it on one node.
const queueOracleID = "Q1"

// checkTotalQueue (Q1 TotalQueue) is the broker-level oracle of Jepsen's
// total-queue checker, over message ids:
//
//   - lost: a business publish the broker confirmed (ack) whose message was
//     never handled, is in no queue at the end and in no dead-letter queue
//     (a violation);
//   - unexpected: a message handled that no publish span announced (a
//     violation);
//   - recovered: a message no publish of which was confirmed (nack, timeout,
//     confirms off) that was handled all the same (a note: legal);
//   - duplicated: a message handled more than once from one queue as a
//     first attempt without the broker's redelivered flag (a note: the
//     system's dedup absorbs it; TF2 judges the effects).
//
// A message counts as consumed when a handling span of it exists; retry and
// dead-letter copies (lab.publish.via retry, dead-letter) are the messaging
// layer's, not publishes of the system. Only messages of a type some queue
// consumed in the run can be lost: a type nobody consumed (no queue bound,
// or its consumer not running) is not judged, since the broker confirms
// unroutable messages too.
func checkTotalQueue(inv Invariant, x *index) Result {
	r := newResult(inv, "published and handled message ids")
	if !x.h.Meta.Cluster() {
		r.Status, r.Reason = Skipped, "not judged: the broker had one node"
		return r
	}
	if len(x.h.Events) == 0 {
		r.Status, r.Reason = Inconclusive, "no spans were recorded"
		return r
	}
	hd := x.h.Snapshot.Holdings
	if hd == nil {
		r.Status, r.Reason = Inconclusive, "the broker's holdings at the end were not recorded"
		return r
	}
	held := map[string]bool{}
	for _, q := range hd.Queues {
		for _, m := range q.Messages {
			held[m.MessageID] = true
		}
	}
	for _, d := range x.h.Snapshot.DeadLetters {
		held[d.MessageID] = true
	}
	ids := make([]string, 0, len(x.publishes)+len(x.handlings))
	for id := range x.publishes {
		ids = append(ids, id)
	}
	for id := range x.handlings {
		if _, ok := x.publishes[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	consumed := map[string]bool{} // message types handled at least once
	for _, hs := range x.handlings {
		consumed[x.ev(hs[0]).MessageType] = true
	}
	var recovered, duplicated Note
	recovered.Category, duplicated.Category = Recovered, DuplicatedDelivery
	for _, id := range ids {
		business, confirmed := false, false
		var pub *history.Event
		for _, n := range x.publishes[id] {
			e := x.ev(n)
			if !e.BusinessPublish() {
				continue
			}
			business = true
			pub = e
			if e.Confirm == history.ConfirmAck {
				confirmed = true
			}
		}
		hs := x.handlings[id]
		if !business && len(x.publishes[id]) > 0 {
			continue // only the messaging layer's own copies: judged with their original
		}
		r.Checked++
		switch {
		case !business:
			e := x.ev(hs[0])
			r.Violations = append(r.Violations, Violation{Category: Unexpected,
				Subject:    fmt.Sprintf("%s %s", e.MessageType, id),
				Detail:     fmt.Sprintf("handled by %s from %s but never published", e.Instance, e.Destination),
				MessageIDs: []string{id}, TraceIDs: []string{e.TraceID.String()}})
			continue
		case len(hs) == 0 && confirmed && !held[id] && consumed[pub.MessageType]:
			r.Violations = append(r.Violations, Violation{Category: Lost,
				Subject:    fmt.Sprintf("%s %s", pub.MessageType, id),
				Detail:     fmt.Sprintf("published by %s to %s and confirmed, never handled, in no queue at the end", pub.Instance, pub.Destination),
				MessageIDs: []string{id}, TraceIDs: []string{pub.TraceID.String()}})
			continue
		case len(hs) > 0 && !confirmed:
			note(&recovered, fmt.Sprintf("%s %s (confirm %s)", pub.MessageType, id, pub.Confirm), pub.TraceID.String())
		}
		first := map[string]int{}
		for _, n := range hs {
			e := x.ev(n)
			if !e.Redelivered && e.Attempt <= 1 {
				first[e.Destination]++
			}
		}
		queues := make([]string, 0, len(first))
		for q, c := range first {
			if c > 1 {
				queues = append(queues, q)
			}
		}
		sort.Strings(queues)
		for _, q := range queues {
			note(&duplicated, fmt.Sprintf("%s %s from %s (%d times)", pub.MessageType, id, q, first[q]), pub.TraceID.String())
		}
	}
	for _, n := range []Note{recovered, duplicated} {
		if n.Count > 0 {
			r.Notes = append(r.Notes, n)
		}
	}
	if len(r.Violations) > 0 {
		r.Status = Violated
	}
	return r
}

// note counts one finding in n and keeps the first as its example.
func note(n *Note, example, trace string) {
	n.Count++
	if n.Example == "" {
		n.Example, n.TraceID = example, trace
	}
}
