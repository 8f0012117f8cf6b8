package amqpproxy

import (
	"log/slog"
	"testing"
)

func TestRecorderBoundsEventsAndCallsBack(t *testing.T) {
	var seen []int64
	r := &recorder{log: slog.New(slog.DiscardHandler), max: 2, counts: map[Fault]int64{}, onEvent: func(e Event) { seen = append(seen, e.Seq) }}
	for range 3 {
		r.record(Event{Fault: DuplicateDelivery, MessageID: "m"})
	}
	ev := r.snapshot()
	if ev.Counts[DuplicateDelivery] != 3 || len(ev.Events) != 2 || ev.Dropped != 1 {
		t.Fatalf("evidence %+v", ev)
	}
	if len(seen) != 3 || seen[2] != 3 || ev.Events[0].Time.IsZero() {
		t.Fatalf("callback saw %v", seen)
	}
	ev.Counts[DuplicateDelivery] = 99
	if r.snapshot().Counts[DuplicateDelivery] != 3 {
		t.Fatal("snapshot aliases the recorder's counters")
	}
}
