package check

import (
	"fmt"
	"slices"
	"sort"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Flow is the part of a system's message flow that one kind of workload
// record starts: the events about the record's id with these message types
// must all be in one trace, the record's.
type Flow struct {
	// Kind is the record kind that starts the flow, e.g. "submit".
	Kind string
	// Subject names the record's subject in findings, e.g. "inquiry".
	Subject string
	// Name names the flow in findings, e.g. "submission flow".
	Name string
	// First is the message type whose publish carries the flow's trace
	// when the record has none.
	First string
	// MessageTypes are the flow's message types.
	MessageTypes []string
}

// ConnectedTraces (TF9) checks that trace context survives every hop. With
// no flows it is the generic invariant; a system passes its flows and a
// guarantee that names them, and Evaluate judges its TF9 instead:
//
//   - each accepted record's flow is one trace: the record's;
//   - every handling of a message continues the trace of its publish, also
//     on redelivery and through the outbox relay;
//   - a handling's parent span was recorded (no orphan after a broken
//     propagation).
func ConnectedTraces(flows ...Flow) Invariant {
	return ConnectedTracesOf("every handling continues the trace of its publish, and each flow a system names is one trace", ErrConnectedTraces, flows...)
}

// ConnectedTracesOf is ConnectedTraces with the system's guarantee and
// sentinel.
func ConnectedTracesOf(guarantee string, err error, flows ...Flow) Invariant {
	return Invariant{ID: "TF9", Name: "ConnectedTraces", Guarantee: guarantee, Err: err,
		Check: internal(func(inv Invariant, x *index) Result { return checkConnectedTraces(inv, x, flows) })}
}

func checkConnectedTraces(inv Invariant, x *index, flows []Flow) Result {
	r := newResult(inv, "flows and messages")
	if x.h.NumEvents() == 0 {
		r.Status, r.Reason = Inconclusive, "no spans were recorded"
		return r
	}
	for i := range x.h.Records {
		s := &x.h.Records[i]
		fi := slices.IndexFunc(flows, func(f Flow) bool { return f.Kind == s.Kind })
		if !s.Accepted || fi < 0 {
			continue
		}
		flow := flows[fi]
		want := s.TraceID
		traces := map[history.TraceID][]string{} // trace → message ids in it
		for _, n := range x.byAggr[s.ID] {
			e := x.head(n)
			if !slices.Contains(flow.MessageTypes, e.MessageType) {
				continue
			}
			if want.IsZero() && e.MessageType == flow.First && e.Kind == history.KindPublish {
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
		r.Violations = append(r.Violations, Violation{Category: BrokenTrace, Subject: flow.Subject + " " + s.ID,
			Detail:     fmt.Sprintf("%s is split over %d traces, want one (%s)", flow.Name, len(ids), want),
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

func uniq(ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = appendUnique(out, id)
	}
	return out
}
