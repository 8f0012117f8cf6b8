package check

import (
	"fmt"
	"sort"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// checkConnectedTraces (TF9): trace context survives every hop.
//
//   - Each inquiry's submission flow (submit → InquirySubmitted → ticket →
//     TicketCreated → link, and the translation branch) is one trace: the
//     submission's.
//   - Every handling of a message continues the trace of its publish, also
//     on redelivery and through the outbox relay.
//   - A handling's parent span was recorded (no orphan after a broken
//     propagation).
func checkConnectedTraces(inv Invariant, x *index) Result {
	r := newResult(inv, "flows and messages")
	if x.h.NumEvents() == 0 {
		r.Status, r.Reason = Inconclusive, "no spans were recorded"
		return r
	}
	for i := range x.h.Workload {
		s := &x.h.Workload[i]
		if !s.Accepted {
			continue
		}
		want := s.TraceID
		traces := map[history.TraceID][]string{} // trace → message ids in it
		for _, n := range x.byAggr[s.InquiryID] {
			e := x.head(n)
			if !contains(submissionFlow, e.MessageType) {
				continue
			}
			if want.IsZero() && e.MessageType == "InquirySubmitted" && e.Kind == history.KindPublish {
				want = e.TraceID
			}
			traces[e.TraceID] = appendUnique(traces[e.TraceID], e.MessageID)
		}
		if len(traces) == 0 {
			continue // nothing recorded for it: TF1 says whether it was lost
		}
		r.Checked++
		if len(traces) == 1 {
			if _, ok := traces[want]; ok || want.IsZero() {
				continue
			}
		}
		ids := make([]string, 0, len(traces)+1)
		var msgs []string
		for t, ms := range traces {
			ids = append(ids, t.String())
			for _, m := range ms {
				msgs = appendUnique(msgs, m)
			}
		}
		sort.Strings(ids)
		sort.Strings(msgs)
		ids = prependUnique(ids, want.String())
		r.Violations = append(r.Violations, Violation{Category: BrokenTrace, Subject: "inquiry " + s.InquiryID,
			Detail:     fmt.Sprintf("submission flow is split over %d traces, want one (%s)", len(ids), want),
			MessageIDs: msgs, TraceIDs: ids})
	}
	msgIDs := make([]string, 0, len(x.handlings))
	for id := range x.handlings {
		msgIDs = append(msgIDs, id)
	}
	sort.Strings(msgIDs)
	for _, id := range msgIDs {
		pubs := x.publishes[id]
		r.Checked++
		for _, n := range x.handlings[id] {
			e := x.head(n)
			if !e.ParentID.IsZero() {
				if _, ok := x.span.event(e.ParentID); !ok {
					r.Violations = append(r.Violations, Violation{Category: BrokenTrace,
						Subject:    fmt.Sprintf("%s %s in %s", e.MessageType, id, e.Service),
						Detail:     fmt.Sprintf("handling's parent span %s was never recorded (orphan)", e.ParentID),
						MessageIDs: []string{id}, TraceIDs: []string{e.TraceID.String()}})
					break
				}
			}
			if len(pubs) == 0 {
				continue
			}
			if !x.sameTraceAsAPublish(e.TraceID, pubs) {
				p := x.head(pubs[0])
				r.Violations = append(r.Violations, Violation{Category: BrokenTrace,
					Subject:    fmt.Sprintf("%s %s in %s", e.MessageType, id, e.Service),
					Detail:     "handling is not in the trace of its publish (context lost on the way)",
					MessageIDs: []string{id}, TraceIDs: uniq(p.TraceID.String(), e.TraceID.String())})
				break
			}
		}
	}
	return finish(r)
}

func (x *index) sameTraceAsAPublish(t history.TraceID, pubs []int32) bool {
	for _, n := range pubs {
		if x.head(n).TraceID == t {
			return true
		}
	}
	return false
}
