package check

import (
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// Flows of synth.New with 6 inquiries (see synth.flow):
//
//	0: en, devmentors.io (VIP), Incident Low,   assigned, resolved
//	1: en, example.com,         Question Low,   assigned
//	2: en, example.com,         Incident Medium, assigned, resolved
//	3: pl, devmentors.io (VIP), Question Medium, assigned
//	4: en, example.com,         Incident High,  not assigned, resolved
//	5: en, example.com,         Question High,  assigned
func sixFlows(t *testing.T) synth.Result {
	t.Helper()
	res := synth.New(synth.Config{Seed: 7, Inquiries: 6})
	res.History.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	return res
}

// find returns the first event matching kind, service and message type about aggregate.
func find(t *testing.T, h *history.History, kind, service, msgType, aggregate string) *history.Event {
	t.Helper()
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind == kind && (service == "" || e.Service == service) && (msgType == "" || e.MessageType == msgType) &&
			(aggregate == "" || e.AggregateID == aggregate) {
			return e
		}
	}
	t.Fatalf("no %s %s %s event about %s", kind, service, msgType, aggregate)
	return nil
}

// again appends a copy of e with a fresh span id, shifted by d, and returns it.
func again(h *history.History, e *history.Event, d time.Duration, edit func(*history.Event)) *history.Event {
	c := *e
	c.SpanID[7] ^= 0x5a
	c.SpanID[6]++
	c.Start, c.End = c.Start.Add(d), c.End.Add(d)
	if edit != nil {
		edit(&c)
	}
	h.Events = append(h.Events, c)
	return &h.Events[len(h.Events)-1]
}

// orphan breaks TF9 (ConnectedTraces): a handling's parent span is one
// that was never recorded.
func orphan(t *testing.T, h *history.History) {
	t.Helper()
	find(t, h, history.KindProcess, "tickets", "InquirySubmitted", "").ParentID[0] ^= 0xff
}

func result(t *testing.T, v Verdict, id string) Result {
	t.Helper()
	r, ok := v.Result(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	return r
}
