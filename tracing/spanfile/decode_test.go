package spanfile

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const (
	tidHex = "4bf92f3577b34da6a3ce929d0e0e4736"
	sidHex = "00f067aa0ba902b7"
	pidHex = "53995c3f42cd8ad8"
)

func mustTID(t testing.TB, s string) trace.TraceID {
	t.Helper()
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustSID(t testing.TB, s string) trace.SpanID {
	t.Helper()
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fullRecord has every field and every attribute type.
func fullRecord(t testing.TB) Record {
	return Record{
		TraceID: mustTID(t, tidHex), SpanID: mustSID(t, sidHex), ParentSpanID: mustSID(t, pidHex),
		Name: "process TicketCreated", Kind: trace.SpanKindConsumer,
		Start: 1767225600000000000, End: 1767225600001500000,
		StatusCode: codes.Error, StatusMessage: "handler: \"boom\"\n",
		Service: "tickets", Instance: "tickets-1", Scope: "github.com/ticketflow-lab/tflab/system/messaging",
		Attrs: []attribute.KeyValue{
			attribute.String("messaging.message.id", "m-1"),
			attribute.Int64("lab.attempt", 2),
			attribute.Int64("big", math.MaxInt64),
			attribute.Int64("small", math.MinInt64),
			attribute.Float64("ratio", 1.0),
			attribute.Float64("tiny", 1e-300),
			attribute.Float64("neg", -2.5e21),
			attribute.Bool("lab.redelivered", true),
			attribute.Bool("f", false),
			attribute.StringSlice("lab.effect.keys", []string{"a", "b\tc", ""}),
			attribute.Int64Slice("ints", []int64{1, -2, 3}),
			attribute.Float64Slice("floats", []float64{1, 2.5}),
			attribute.BoolSlice("bools", []bool{true, false}),
			attribute.String("unicode", "Ticket für Ärger — 日本語 \u2028 \x01"),
		},
		Events: []Event{
			{Name: "exception", Time: 1767225600001000000, Attrs: []attribute.KeyValue{attribute.String("exception.message", "boom")}},
			{Name: "bare", Time: 1767225600001000001},
		},
		Links:   []Link{{TraceID: mustTID(t, "0af7651916cd43dd8448eb211c80319c"), SpanID: mustSID(t, "b7ad6b7169203331"), Attrs: []attribute.KeyValue{attribute.String("why", "batch")}}},
		Dropped: 3,
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	in := fullRecord(t)
	line := AppendRecord(nil, &in)
	if !bytes.HasSuffix(line, []byte("}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", line)
	}
	out, err := Decode(line)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, line)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip differs\n in: %+v\nout: %+v", in, out)
	}
	if again := AppendRecord(nil, &out); !bytes.Equal(again, line) {
		t.Fatalf("encoding not canonical\n%s\n%s", line, again)
	}
	// The JSON type carries the attribute type.
	for _, want := range []string{`"ratio":1.0`, `"big":9223372036854775807`, `"floats":[1.0,2.5]`, `"ints":[1,-2,3]`, `\u2028`, `\u0001`} {
		if !bytes.Contains(line, []byte(want)) {
			t.Errorf("line lacks %s: %s", want, line)
		}
	}
}

func TestDecodeHandWritten(t *testing.T) {
	line := `  {"name":"n","end":20,"start":10,"span_id":"00F067AA0BA902B7","trace_id":"` + tidHex + `","v":1,` +
		`"future":{"nested":[1,{"x":null}],"s":"\u00e9"},"attrs":{"k":"first","k":"last","e":"\ud83d\ude00","lone":"\ud800x"}}` + "\r\n"
	r, err := Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if r.SpanID != mustSID(t, sidHex) || r.Start != 10 || r.End != 20 || r.Kind != 0 || r.ParentSpanID.IsValid() {
		t.Fatalf("fields: %+v", r)
	}
	want := []attribute.KeyValue{attribute.String("k", "last"), attribute.String("e", "😀"), attribute.String("lone", "\uFFFDx")}
	if !reflect.DeepEqual(r.Attrs, want) {
		t.Fatalf("attrs = %v, want %v", r.Attrs, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	base := `"v":1,"trace_id":"` + tidHex + `","span_id":"` + sidHex + `","name":"n","start":1,"end":2`
	cases := []struct {
		name, line string
		kind       error
	}{
		{"empty", ``, ErrTruncated},
		{"open brace", `{`, ErrTruncated},
		{"cut in string", `{` + base + `,"attrs":{"k":"val`, ErrTruncated},
		{"cut after backslash", `{` + base + `,"name":"a\`, ErrTruncated},
		{"cut in unicode escape", `{` + base + `,"name":"\u00`, ErrTruncated},
		{"cut in literal", `{` + base + `,"attrs":{"b":tr`, ErrTruncated},
		{"cut in exponent", `{` + base + `,"attrs":{"f":1e`, ErrTruncated},
		{"not json", `hello`, ErrSyntax},
		{"array", `[1]`, ErrSchema},
		{"trailing data", `{` + base + `}x`, ErrSyntax},
		{"two objects", `{` + base + `}{` + base + `}`, ErrSyntax},
		{"control char", "{" + base + ",\"name\":\"a\x01\"}", ErrSyntax},
		{"bad escape", `{` + base + `,"name":"\x"}`, ErrSyntax},
		{"leading zero", `{` + base + `,"attrs":{"n":01}}`, ErrSyntax},
		{"missing colon", `{"v" 1}`, ErrSyntax},
		{"trailing comma", `{` + base + `,}`, ErrSyntax},
		{"bad literal", `{` + base + `,"attrs":{"b":trUe}}`, ErrSyntax},
		{"missing name", `{"v":1,"trace_id":"` + tidHex + `","span_id":"` + sidHex + `","start":1,"end":2}`, ErrSchema},
		{"version 2", `{` + strings.Replace(base, `"v":1`, `"v":2`, 1) + `}`, ErrSchema},
		{"short trace id", `{` + base + `,"trace_id":"abc"}`, ErrSchema},
		{"non-hex span id", `{` + base + `,"span_id":"zzzzzzzzzzzzzzzz"}`, ErrSchema},
		{"zero trace id", `{` + base + `,"trace_id":"00000000000000000000000000000000"}`, ErrSchema},
		{"float start", `{` + base + `,"start":1.5}`, ErrSchema},
		{"string start", `{` + base + `,"start":"1"}`, ErrSchema},
		{"int overflow", `{` + base + `,"end":9223372036854775808}`, ErrSchema},
		{"float overflow", `{` + base + `,"attrs":{"f":1e400}}`, ErrSchema},
		{"unknown kind", `{` + base + `,"kind":"sideways"}`, ErrSchema},
		{"unknown status", `{` + base + `,"status":"meh"}`, ErrSchema},
		{"null attr", `{` + base + `,"attrs":{"a":null}}`, ErrSchema},
		{"empty attr key", `{` + base + `,"attrs":{"":1}}`, ErrSchema},
		{"object attr", `{` + base + `,"attrs":{"a":{"b":1}}}`, ErrSchema},
		{"mixed array", `{` + base + `,"attrs":{"a":["x",1]}}`, ErrSchema},
		{"nested array", `{` + base + `,"attrs":{"a":[[1]]}}`, ErrSchema},
		{"event without time", `{` + base + `,"events":[{"name":"e"}]}`, ErrSchema},
		{"link without span", `{` + base + `,"links":[{"trace_id":"` + tidHex + `"}]}`, ErrSchema},
		{"too deep", `{` + base + `,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, ErrSchema},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode([]byte(c.line))
			if !errors.Is(err, c.kind) {
				t.Fatalf("Decode(%q) = %v, want %v", c.line, err, c.kind)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(c.line) {
				t.Fatalf("error %v is not a *DecodeError with an offset in the line", err)
			}
		})
	}
}

// TestEveryPrefixIsTorn is the property the reader's torn-line report rests
// on: whatever byte a write is cut after, the fragment decodes as
// ErrTruncated, never as a (wrong) span.
func TestEveryPrefixIsTorn(t *testing.T) {
	r := fullRecord(t)
	line := AppendRecord(nil, &r)
	line = line[:len(line)-1] // the newline
	for k := range len(line) {
		if _, err := Decode(line[:k]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix of %d bytes %q: err = %v, want ErrTruncated", k, line[:k], err)
		}
	}
	if _, err := Decode(line); err != nil {
		t.Fatalf("whole line: %v", err)
	}
}

func TestNonFiniteFloatsBecomeStrings(t *testing.T) {
	r := Record{TraceID: mustTID(t, tidHex), SpanID: mustSID(t, sidHex), Name: "n", Attrs: []attribute.KeyValue{
		attribute.Float64("nan", math.NaN()), attribute.Float64("inf", math.Inf(1)), attribute.Float64("ninf", math.Inf(-1)),
	}}
	out, err := Decode(AppendRecord(nil, &r))
	if err != nil {
		t.Fatal(err)
	}
	want := []attribute.KeyValue{attribute.String("nan", "NaN"), attribute.String("inf", "+Inf"), attribute.String("ninf", "-Inf")}
	if !reflect.DeepEqual(out.Attrs, want) {
		t.Fatalf("attrs = %v, want %v", out.Attrs, want)
	}
}

func TestDecoderReusesRecordSafely(t *testing.T) {
	var d Decoder
	var r Record
	a, b := fullRecord(t), fullRecord(t)
	b.Attrs = b.Attrs[:1]
	b.Events = nil
	b.Links = nil
	for _, want := range []Record{a, b, a} {
		if err := d.Decode(AppendRecord(nil, &want), &r); err != nil {
			t.Fatal(err)
		}
		got := r
		if len(got.Events) == 0 {
			got.Events = nil
		}
		if len(got.Links) == 0 {
			got.Links = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("reused record\n got %+v\nwant %+v", got, want)
		}
	}
}
