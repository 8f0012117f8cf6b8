package spanfile

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// FuzzDecode checks the hand-written decoder against encoding/json: it
// never panics, every error is a *DecodeError of one of the three kinds,
// whatever it accepts is valid JSON whose members encoding/json reads the
// same way, and re-encoding an accepted line is canonical.
func FuzzDecode(f *testing.F) {
	full := fullRecord(f)
	f.Add(AppendRecord(nil, &full))
	minimal := Record{TraceID: full.TraceID, SpanID: full.SpanID, Name: "n", Start: 1, End: 2}
	f.Add(AppendRecord(nil, &minimal))
	f.Add([]byte(`{"v":1,"trace_id":"` + tidHex + `","span_id":"` + sidHex + `","name":"\ud83d\ude00\ud800","start":-0,"end":0,"attrs":{"a":[1,2.5e-3],"a":[],"b":"\u0000"},"x":[{"y":null}]}`))
	f.Add([]byte(`{"v":1,"trace_id":"` + tidHex + `"`))
	f.Add([]byte("{\"v\":1,\"name\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := Decode(line)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			if de.Kind != ErrTruncated && de.Kind != ErrSyntax && de.Kind != ErrSchema {
				t.Fatalf("unknown error kind %v", de.Kind)
			}
			if errors.Is(err, ErrSyntax) && json.Valid(line) {
				t.Fatalf("valid JSON reported as a syntax error: %v\n%q", err, line)
			}
			return
		}
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON %q", line)
		}
		compareWithStdlib(t, line, &r)
		enc := AppendRecord(nil, &r)
		r2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded line does not decode: %v\n%s", err, enc)
		}
		if enc2 := AppendRecord(nil, &r2); !bytes.Equal(enc, enc2) {
			t.Fatalf("not canonical:\n%s\n%s", enc, enc2)
		}
	})
}

// compareWithStdlib decodes line with encoding/json and checks that r
// agrees on the fields and attributes.
func compareWithStdlib(t *testing.T, line []byte, r *Record) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("encoding/json rejects an accepted line: %v\n%q", err, line)
	}
	if m["name"] != r.Name {
		t.Fatalf("name: stdlib %q, decoder %q", m["name"], r.Name)
	}
	if got, _ := m["trace_id"].(string); !sameHex(got, r.TraceID[:]) {
		t.Fatalf("trace_id: stdlib %q, decoder %s", got, r.TraceID)
	}
	if n, _ := m["start"].(json.Number); n.String() != strconv.FormatInt(r.Start, 10) && !numEqual(n, r.Start) {
		t.Fatalf("start: stdlib %v, decoder %d", n, r.Start)
	}
	attrs, _ := m["attrs"].(map[string]any)
	if len(attrs) != len(r.Attrs) {
		t.Fatalf("attrs: stdlib %d, decoder %d", len(attrs), len(r.Attrs))
	}
	for _, kv := range r.Attrs {
		want, ok := attrs[string(kv.Key)]
		if !ok {
			t.Fatalf("attr %q missing in stdlib decode", kv.Key)
		}
		if !sameValue(want, kv.Value) {
			t.Fatalf("attr %q: stdlib %#v, decoder %#v", kv.Key, want, kv.Value.AsInterface())
		}
	}
	evs, _ := m["events"].([]any)
	if len(evs) != len(r.Events) {
		t.Fatalf("events: stdlib %d, decoder %d", len(evs), len(r.Events))
	}
	for i, e := range evs {
		if name := e.(map[string]any)["name"]; name != r.Events[i].Name {
			t.Fatalf("event %d name: stdlib %q, decoder %q", i, name, r.Events[i].Name)
		}
	}
	lks, _ := m["links"].([]any)
	if len(lks) != len(r.Links) {
		t.Fatalf("links: stdlib %d, decoder %d", len(lks), len(r.Links))
	}
}

func sameHex(s string, id []byte) bool {
	b, err := hex.DecodeString(s)
	return err == nil && bytes.Equal(b, id)
}

func numEqual(n json.Number, v int64) bool {
	i, err := strconv.ParseInt(n.String(), 10, 64)
	return err == nil && i == v
}

func sameValue(want any, v attribute.Value) bool {
	switch w := want.(type) {
	case string:
		return v.Type() == attribute.STRING && v.AsString() == w
	case bool:
		return v.Type() == attribute.BOOL && v.AsBool() == w
	case json.Number:
		switch v.Type() {
		case attribute.INT64:
			return numEqual(w, v.AsInt64())
		case attribute.FLOAT64:
			f, err := strconv.ParseFloat(w.String(), 64)
			return err == nil && (f == v.AsFloat64() || math.IsNaN(f) && math.IsNaN(v.AsFloat64()))
		}
		return false
	case []any:
		got := reflect.ValueOf(v.AsInterface())
		if got.Kind() != reflect.Slice || got.Len() != len(w) {
			return false
		}
		for i, e := range w {
			var ev attribute.Value
			switch x := got.Index(i).Interface().(type) {
			case string:
				ev = attribute.StringValue(x)
			case bool:
				ev = attribute.BoolValue(x)
			case int64:
				ev = attribute.Int64Value(x)
			case float64:
				ev = attribute.Float64Value(x)
				if n, ok := e.(json.Number); ok { // ints promoted in a float slice
					f, err := strconv.ParseFloat(n.String(), 64)
					if err != nil || f != x {
						return false
					}
					continue
				}
			}
			if !sameValue(e, ev) {
				return false
			}
		}
		return true
	}
	return false
}
