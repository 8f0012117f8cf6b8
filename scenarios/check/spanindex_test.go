package check

import (
	"encoding/binary"
	"math/rand/v2"
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

// Many ids, random ones spread over the buckets and small ones crowded into
// the first, some repeated: each lookup gives what a map gives.
func TestSpanIndexAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := &history.History{}
	for i := range 5000 {
		var id history.SpanID
		switch i % 4 {
		case 0, 1:
			binary.BigEndian.PutUint64(id[:], rng.Uint64())
		case 2:
			binary.BigEndian.PutUint64(id[:], uint64(i%300))
		default:
			if len(h.Events) > 0 {
				id = h.Events[rng.IntN(len(h.Events))].SpanID
			}
		}
		h.Events = append(h.Events, history.Event{Kind: history.KindOther, SpanID: id, Start: h.Meta.Start.Add(1)})
	}
	x := newIndex(h)
	want := map[history.SpanID]int32{}
	for i, e := range h.Events {
		if !e.SpanID.IsZero() {
			want[e.SpanID] = int32(i)
		}
	}
	probe := func(id history.SpanID) {
		n, ok := x.span.event(id)
		if w, wok := want[id]; n != w || ok != wok {
			t.Fatalf("span %v: event %d, %t; want %d, %t", id, n, ok, w, wok)
		}
	}
	for _, e := range h.Events {
		probe(e.SpanID)
	}
	for range 5000 {
		var id history.SpanID
		binary.BigEndian.PutUint64(id[:], rng.Uint64()>>uint(rng.IntN(64)))
		probe(id)
	}
}
