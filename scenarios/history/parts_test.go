package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// partsEvents are n events whose strings repeat across the file (ids from
// pools, so that the parts of a file share strings), with zones other than
// UTC, effect keys (empty ones too) and strings only encoding/json decodes.
func partsEvents(n int) []Event {
	rng := rand.New(rand.NewPCG(7, 9))
	pool := func(prefix string, k int) string { return fmt.Sprintf("%s-%d", prefix, rng.IntN(k)) }
	zones := []*time.Location{time.UTC, time.UTC, time.UTC, time.FixedZone("A", 3600), time.FixedZone("", -7200), time.Local}
	kinds := []string{KindPublish, KindProcess, KindCommand, KindOther, KindCreate}
	events := make([]Event, n)
	for i := range events {
		e := &events[i]
		*e = Event{
			Kind: kinds[rng.IntN(len(kinds))], Name: pool("name", 20), Service: pool("svc", 5),
			Instance: pool("inst", 8), MessageID: pool("m", n/2), MessageType: pool("Type", 12),
			CorrelationID: pool("corr", n/10), CausationID: pool("m", n/2), AggregateID: pool("agg", n/10),
			Outcome: []string{"", OutcomeAcked, OutcomeFailed, OutcomeRetried}[rng.IntN(4)],
			Attempt: rng.IntN(4), Redelivered: rng.IntN(5) == 0, AggregateVersion: rng.Int64N(9),
			Start: time.Unix(1767607200+int64(i/3), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]),
			End:   time.Unix(1767607201+int64(i/3), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]),
		}
		if rng.IntN(50) == 0 {
			e.Error = "quote \" and <tag> " + pool("err", 3) // escaped by encoding/json: the slow path
		}
		switch rng.IntN(4) {
		case 0:
			e.EffectKeys = []string{}
		case 1:
			e.EffectKeys = []string{pool("key", n/4), pool("key", n/4)}
		}
		e.TraceID[0], e.TraceID[1] = byte(rng.IntN(256)), byte(i/256)
		e.SpanID[0], e.SpanID[7] = byte(i), byte(i>>8)
	}
	return events
}

func writeEventsFile(t *testing.T, events []Event) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteEvents(&b, events); err != nil {
		t.Fatal(err)
	}
	// A blank line, and one at the end without a newline.
	data := bytes.Replace(b.Bytes(), []byte("\n"), []byte("\n\n"), 1)
	data = bytes.TrimSuffix(data, []byte("\n"))
	name := filepath.Join(t.TempDir(), EventsFile)
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// The parallel reader of LoadTable gives the table one reader gives, for
// any number of parts: the same events, in the same order.
func TestReadEventFileInPartsMatchesOneReader(t *testing.T) {
	defer func(prev int64) { minPartSize = prev }(minPartSize)
	minPartSize = 1
	events := partsEvents(3000)
	name := writeEventsFile(t, events)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	one, err := ReadEventTable(f)
	if err != nil {
		t.Fatal(err)
	}
	want := one.Events()
	if len(want) != len(events) {
		t.Fatalf("one reader read %d events, want %d", len(want), len(events))
	}
	for _, parts := range []int{1, 2, 3, 7, 64} {
		tb, err := readEventFile(f, parts)
		if err != nil {
			t.Fatalf("%d parts: %v", parts, err)
		}
		got := tb.Events()
		if len(got) != len(want) {
			t.Fatalf("%d parts: %d events, want %d", parts, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("%d parts: event %d is\n%+v\nwant\n%+v", parts, i, got[i], want[i])
			}
			if got[i].Start.Location().String() != want[i].Start.Location().String() ||
				got[i].End.Location().String() != want[i].End.Location().String() {
				t.Fatalf("%d parts: event %d in zones %v/%v, want %v/%v", parts, i,
					got[i].Start.Location(), got[i].End.Location(), want[i].Start.Location(), want[i].End.Location())
			}
			if tb.Head(i) != one.Head(i) {
				t.Fatalf("%d parts: head of event %d differs", parts, i)
			}
		}
		if parts > 1 && (len(tb.strs) != len(one.strs) || len(tb.shapes) != len(one.shapes) || len(tb.traces) != len(one.traces)) {
			t.Errorf("%d parts: %d strings, %d shapes, %d trace ids; one reader %d, %d, %d", parts,
				len(tb.strs), len(tb.shapes), len(tb.traces), len(one.strs), len(one.shapes), len(one.traces))
		}
		if tb.handle != nil || tb.shapeH != nil || tb.traceH != nil {
			t.Errorf("%d parts: the table is not sealed", parts)
		}
	}
}

// A bad line in a later part is named by its number in the whole file.
func TestReadEventFileNamesTheBadLineOfAPart(t *testing.T) {
	defer func(prev int64) { minPartSize = prev }(minPartSize)
	minPartSize = 1
	events := partsEvents(400)
	var b bytes.Buffer
	if err := WriteEvents(&b, events); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(b.String(), "\n")
	lines[350] = `{"kind":` + "\n"
	name := filepath.Join(t.TempDir(), EventsFile)
	if err := os.WriteFile(name, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, want := ReadEventTable(f)
	if want == nil || !strings.HasPrefix(want.Error(), "event 351: ") {
		t.Fatalf("one reader: %v, want event 351", want)
	}
	var syntax *json.SyntaxError
	for _, parts := range []int{2, 5} {
		_, err := readEventFile(f, parts)
		if err == nil || err.Error() != want.Error() {
			t.Errorf("%d parts: %v, want %v", parts, err, want)
		}
		if !errors.As(err, &syntax) {
			t.Errorf("%d parts: %v does not wrap the decoder's error", parts, err)
		}
	}
}
