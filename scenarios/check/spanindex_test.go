package check

import (
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// The span index answers as the map it replaced: the last event with an
// id, nothing for an id never seen.
func TestSpanIndexFindsTheLastEventOfASpanID(t *testing.T) {
	top := history.SpanID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	h := &history.History{Events: []history.Event{
		{Kind: history.KindOther, SpanID: history.SpanID{1}},
		{Kind: history.KindOther, SpanID: top},
		{Kind: history.KindOther, SpanID: history.SpanID{1}},
		{Kind: history.KindOther},
		{Kind: history.KindOther, SpanID: history.SpanID{0, 0, 0, 0, 0, 0, 0, 2}},
	}}
	for i := range h.Events {
		h.Events[i].Start = h.Meta.Start.Add(1)
	}
	x := newIndex(h)
	want := map[history.SpanID]int32{}
	for i, e := range h.Events {
		if !e.SpanID.IsZero() {
			want[e.SpanID] = int32(i)
		}
	}
	for _, id := range []history.SpanID{{1}, top, {0, 0, 0, 0, 0, 0, 0, 2}, {}, {2}, {0, 0, 0, 0, 0, 0, 0, 1}} {
		n, ok := x.span.event(id)
		if w, wok := want[id]; n != w || ok != wok {
			t.Errorf("span %v: event %d, %t; want %d, %t", id, n, ok, w, wok)
		}
	}
}
