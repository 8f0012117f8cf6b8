package synth

import (
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// SixFlows is New with 6 inquiries (seed 7) and evidence that a run always
// meets ("deliveries > 0"), the checkers' tests' usual history:
//
//	0: en, devmentors.io (VIP), Incident Low,   assigned, resolved
//	1: en, example.com,         Question Low,   assigned
//	2: en, example.com,         Incident Medium, assigned, resolved
//	3: pl, devmentors.io (VIP), Question Medium, assigned
//	4: en, example.com,         Incident High,  not assigned, resolved
//	5: en, example.com,         Question High,  assigned
func SixFlows(t testing.TB) Result {
	t.Helper()
	res := New(Config{Seed: 7, Inquiries: 6})
	res.History.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	return res
}

// Find returns the first event of h matching kind, service and message type
// about aggregate ("" matches any); it fails t when there is none.
func Find(t testing.TB, h *history.History, kind, service, msgType, aggregate string) *history.Event {
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

// Again appends to h a copy of e with a fresh span id, shifted by d and
// changed by edit (nil: unchanged), and returns it: a redelivery or a
// duplicate in the checkers' tests.
func Again(h *history.History, e *history.Event, d time.Duration, edit func(*history.Event)) *history.Event {
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
