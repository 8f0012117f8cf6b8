package history

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func internCopy(b []byte) string { return string(b) }

// decodeLikeJSON checks that decodeEvent gives what json.Unmarshal gives:
// the same event, or an error for the same lines.
func decodeLikeJSON(t *testing.T, line string) {
	t.Helper()
	var want Event
	wantErr := json.Unmarshal([]byte(line), &want)
	got := Event{EffectKeys: []string{"stale", "keys"}}
	gotErr := decodeEvent([]byte(line), &got, internCopy)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s\ndecodeEvent error %v, json.Unmarshal error %v", line, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s\ndecodeEvent  %+v\njson.Unmarshal %+v", line, got, want)
	}
}

// oddLines are event lines off the fast path or at its edges.
var oddLines = []string{
	`{}`,
	` {"kind":"publish"} `,
	`{"kind":"publish","effectKeys":[]}`,
	`{"kind":"publish","effectKeys":null}`,
	`{"kind":null,"name":"x"}`,
	`{"Kind":"publish","MESSAGEID":"m"}`,
	`{"kind":"a\"b","name":"\u003ctag\u003e","service":"caf\u00e9"}`,
	`{"name":"caf` + "\xff" + `"}`,
	`{"name":"zażółć"}`,
	`{"attempt":1.0}`,
	`{"attempt":1e2}`,
	`{"attempt":-3,"republish":0,"aggregateVersion":9223372036854775807}`,
	`{"aggregateVersion":9223372036854775808}`,
	`{"attempt":01}`,
	`{"redelivered":true,"redelivered":false}`,
	`{"redelivered":"yes"}`,
	`{"start":"2026-01-05T10:00:00.123456789Z","end":"2026-01-05T11:00:00+02:00"}`,
	`{"start":"2026-01-05 10:00:00"}`,
	`{"start":null}`,
	`{"traceId":"","spanId":"","parentId":""}`,
	`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708"}`,
	`{"traceId":"zz"}`,
	`{"spanId":"0102"}`,
	`{"unknown":{"a":[1,2]},"kind":"process"}`,
	`{"kind":"process",}`,
	`{"kind":"process"} trailing`,
	`{"kind":"process"`,
	`{"effectKeys":["a","b"],"effectKeys":["c"]}`,
	`{"effectKeys":["a",1]}`,
	`[]`,
	``,
}

func TestDecodeEventMatchesEncodingJSON(t *testing.T) {
	for _, l := range oddLines {
		decodeLikeJSON(t, l)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "publish", "tickets", "m-1", "a\"b", "<&>", "tab\there", "é", "\u2028", "x\x00y", "bad\xffutf8"}
	pick := func() string { return words[rng.IntN(len(words))] }
	zone := time.FixedZone("X", 3600)
	for range 2000 {
		e := Event{
			Kind: pick(), Name: pick(), Service: pick(), Instance: pick(), MessageID: pick(),
			MessageType: pick(), CorrelationID: pick(), CausationID: pick(), Destination: pick(),
			RoutingKey: pick(), AggregateID: pick(), Dedup: pick(), Order: pick(), Outcome: pick(),
			Tx: pick(), PublishVia: pick(), Confirm: pick(), Error: pick(),
			AggregateVersion: rng.Int64() - rng.Int64(), Attempt: rng.IntN(5) - 1, Republish: rng.IntN(3),
			Redelivered: rng.IntN(2) == 0,
			Start:       time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC(),
			End:         time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zone),
		}
		fill := func(b []byte) {
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
		}
		fill(e.TraceID[:])
		fill(e.SpanID[:])
		if rng.IntN(2) == 0 {
			fill(e.ParentID[:])
		}
		if rng.IntN(4) == 0 {
			e.Start = time.Time{}
		}
		for range rng.IntN(3) {
			e.EffectKeys = append(e.EffectKeys, pick())
		}
		b, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		decodeLikeJSON(t, string(b))
	}
}

func TestDecodeEventTakesTheFastPathForSavedLines(t *testing.T) {
	e := Event{Kind: KindProcess, Name: "process TicketCreated", Start: time.Unix(1767607200, 5).UTC(),
		End: time.Unix(1767607201, 0).UTC(), Service: "sla", MessageID: "m-1", Attempt: 2, Redelivered: true,
		EffectKeys: []string{"ticket:t-1:create"}}
	e.TraceID[0], e.SpanID[0] = 1, 2
	b, _ := json.Marshal(&e)
	var got Event
	if err := decodeEventFast(b, &got, nil, internCopy); err != nil {
		t.Fatalf("a line as Save writes it left the fast path: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("got %+v, want %+v", got, e)
	}
}

func TestTableRoundTrip(t *testing.T) {
	if n := unsafe.Sizeof(eventRow{}); n != 80 {
		t.Errorf("a row takes %d bytes; EventTable's documentation says 80", n)
	}
	zone := time.FixedZone("X", -7200)
	events := []Event{
		{Kind: KindPublish, Start: time.Unix(100, 1).UTC(), End: time.Unix(101, 2).In(zone), MessageID: "m",
			EffectKeys: []string{"k1", "k2"}, Attempt: 3, Republish: 1, Redelivered: true, AggregateVersion: -4,
			Service: "tickets", MessageType: "TicketQualified", AggregateID: "a", Outcome: OutcomeRetried},
		{Kind: KindProcess, Start: time.Unix(50, 0).In(time.Local), Error: strings.Repeat("long ", 5000), MessageID: "m"},
		{Kind: KindOther, EffectKeys: []string{}},
	}
	events[0].TraceID[3], events[1].SpanID[1], events[1].ParentID[2] = 7, 8, 9
	var tb EventTable
	for i := range events {
		tb.Append(&events[i])
	}
	tb.Seal()
	// After Seal the lookups are rebuilt: this event shares the second one's strings and shape.
	tb.Append(&Event{Kind: KindProcess, MessageID: "m", Start: time.Unix(60, 0).In(time.Local), Error: events[1].Error})
	if n := strings.Count(strings.Join(tb.strs, "|")+"|", "|m|"); n != 1 {
		t.Errorf("the table keeps %d copies of a repeated string, want 1: %q", n, tb.strs)
	}
	if len(tb.shapes) != 3 {
		t.Errorf("the table keeps %d shapes, want 3 (the last event shares the second one's)", len(tb.shapes))
	}
	got := tb.Events()
	for i := range events {
		if !reflect.DeepEqual(got[i], events[i]) {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], events[i])
		}
	}
	for i := range got {
		if h, want := tb.Head(i), got[i].Head(); h != want {
			t.Errorf("event %d: Head gives %+v, the event %+v", i, h, want)
		}
	}
	if h := tb.Head(0); h.Service != "tickets" || h.AggregateID != "a" || h.TraceID[3] != 7 || !h.Failed() {
		t.Errorf("Head of event 0: %+v", h)
	}
	if got[3].MessageID != "m" || got[3].Kind != KindProcess {
		t.Errorf("event appended after Seal: %+v", got[3])
	}
	tb.SortByStart()
	var first Event
	tb.Get(0, &first)
	if !first.Start.IsZero() || first.Kind != KindOther {
		t.Errorf("after SortByStart the first event is %+v, want the one without a start", first)
	}
}

func TestJudgeMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in   int64
		want int64
	}{
		{0, 256 << 20},
		{-1, 256 << 20},
		{100 << 20, 256 << 20},
		{1 << 30, int64(float64(1<<30) * 0.55 * 1.25)},
		{math.MaxInt64, int64(float64(math.MaxInt64) * 0.55 * 1.25)},
	} {
		if got := JudgeMemoryLimit(c.in); got != c.want {
			t.Errorf("JudgeMemoryLimit(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	// The synthetic million-span history of BenchmarkVerify takes 694 MiB.
	if got := JudgeMemoryLimit(727_466_518); got > 512<<20 || got < 400<<20 {
		t.Errorf("the limit for a million spans is %d MiB, want 400–512", got>>20)
	}
}

func TestLimitMemoryForJudging(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	prevGC := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prevGC)
	debug.SetMemoryLimit(math.MaxInt64)
	restore := LimitMemoryForJudging(1 << 30)
	if got, want := debug.SetMemoryLimit(-1), JudgeMemoryLimit(1<<30); got != want {
		t.Errorf("limit while judging %d, want %d", got, want)
	}
	if gc := debug.SetGCPercent(-1); gc != -1 {
		t.Errorf("GOGC while judging %d, want off", gc)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit after restore %d, want none", got)
	}
	if gc := debug.SetGCPercent(100); gc != 100 {
		t.Errorf("GOGC after restore %d, want 100", gc)
	}
	debug.SetMemoryLimit(100 << 20) // lower, as GOMEMLIMIT=100MiB sets it
	restore = LimitMemoryForJudging(1 << 30)
	if got := debug.SetMemoryLimit(-1); got != 100<<20 {
		t.Errorf("a lower limit already set became %d", got)
	}
	if gc := debug.SetGCPercent(100); gc != 100 {
		t.Errorf("with a lower limit already set, GOGC became %d", gc)
	}
	restore()
}

// Intern remembers the table's strings by address; a caller's buffer that
// is rewritten in place must still give its new contents.
func TestInternReusedBuffer(t *testing.T) {
	var tb EventTable
	buf := []byte("message-1")
	first := tb.Intern(buf)
	copy(buf, "MESSAGE-2")
	second := tb.Intern(buf)
	if first != "message-1" || second != "MESSAGE-2" {
		t.Fatalf("Intern gave %q then %q", first, second)
	}
	tb.Append(&Event{MessageID: first, CorrelationID: second, Kind: first})
	var e Event
	tb.Get(0, &e)
	if e.MessageID != "message-1" || e.CorrelationID != "MESSAGE-2" || e.Kind != "message-1" {
		t.Fatalf("event %+v", e)
	}
	if len(tb.strs) != 3 {
		t.Errorf("the table holds %d strings, want 3: %q", len(tb.strs), tb.strs)
	}
}

func TestRolledBackAtMatchesTheEvent(t *testing.T) {
	var events []Event
	for _, kind := range []string{KindPublish, KindCreate, KindProcess, KindCommand, KindOther, ""} {
		for _, tx := range []string{"", TxCommitted, TxRolledBack, "other"} {
			for _, outcome := range []string{"", OutcomeAcked, OutcomeRetried, OutcomeDeadLettered,
				OutcomeUnknownType, OutcomeRequeued, OutcomeFailed} {
				events = append(events, Event{Kind: kind, Tx: tx, Outcome: outcome})
			}
		}
	}
	var tb EventTable
	for i := range events {
		tb.Append(&events[i])
	}
	table := &History{Table: &tb}
	rows := &History{Events: events}
	rolled := 0
	for i := range events {
		want := events[i].RolledBack()
		if got := table.RolledBackAt(i); got != want {
			t.Errorf("%+v: RolledBackAt of the table = %v, the event says %v", events[i], got, want)
		}
		if got := rows.RolledBackAt(i); got != want {
			t.Errorf("%+v: RolledBackAt of Events = %v, the event says %v", events[i], got, want)
		}
		if want {
			rolled++
		}
	}
	if rolled == 0 || rolled == len(events) {
		t.Fatalf("%d of %d events rolled back: the cases do not tell the two apart", rolled, len(events))
	}
}

// FuzzDecodeEvent checks that the hand-written decoder gives what
// encoding/json gives for any line, seeded with the odd lines and a line
// as Save writes it:
//
//	go test ./scenarios/history -run '^$' -fuzz FuzzDecodeEvent -fuzztime 30s
func FuzzDecodeEvent(f *testing.F) {
	for _, l := range oddLines {
		f.Add(l)
	}
	saved, err := json.Marshal(&Event{Kind: KindProcess, Name: "process TicketCreated", Start: time.Unix(1767607200, 5).UTC(),
		Service: "sla", MessageID: "m-1", AggregateVersion: 3, EffectKeys: []string{"k"}, Redelivered: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(saved))
	f.Fuzz(func(t *testing.T, line string) { decodeLikeJSON(t, line) })
}
