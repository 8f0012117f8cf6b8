package spanfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func newProvider(t testing.TB, p sdktrace.SpanProcessor, extra ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	t.Helper()
	opts := append([]sdktrace.TracerProviderOption{sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(p)}, extra...)
	tp := sdktrace.NewTracerProvider(opts...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// readAll walks one file and returns its records by span id.
func readAll(t testing.TB, files ...string) (map[trace.SpanID]Record, WalkStats) {
	t.Helper()
	out := map[trace.SpanID]Record{}
	st, err := Walk(files, func(r *Record, pos Position) error {
		if _, dup := out[r.SpanID]; dup {
			return fmt.Errorf("%s: span %s twice", pos, r.SpanID)
		}
		c := *r
		c.Attrs = append([]attribute.KeyValue(nil), r.Attrs...)
		c.Events = nil
		for _, e := range r.Events {
			e.Attrs = append([]attribute.KeyValue(nil), e.Attrs...)
			c.Events = append(c.Events, e)
		}
		c.Links = nil
		for _, l := range r.Links {
			l.Attrs = append([]attribute.KeyValue(nil), l.Attrs...)
			c.Links = append(c.Links, l)
		}
		out[r.SpanID] = c
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// TestProcessorRoundTrip: spans made with the SDK come back from the file
// with the same ids, parentage, names, kinds, times, status, attributes,
// events and links as the SDK's own in-memory recorder saw.
func TestProcessorRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces", "tickets.jsonl")
	p, err := Open(path, Options{Service: "tickets", Instance: "tickets-1"})
	if err != nil {
		t.Fatal(err)
	}
	mem := tracetest.NewSpanRecorder()
	tp := newProvider(t, p, sdktrace.WithSpanProcessor(mem))
	tr := tp.Tracer("github.com/ticketflow-lab/tflab/test")

	ctx, root := tr.Start(t.Context(), "POST /inquiries", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.route", "/inquiries")))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				_, s := tr.Start(ctx, fmt.Sprintf("publish %d/%d", w, i), trace.WithSpanKind(trace.SpanKindProducer),
					trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.Int("n", i)}}),
					trace.WithAttributes(
						attribute.String("messaging.message.id", fmt.Sprintf("m-%d-%d", w, i)),
						attribute.Int64("lab.attempt", int64(i)),
						attribute.Float64("ratio", float64(i)),
						attribute.Bool("lab.redelivered", i%2 == 0),
						attribute.StringSlice("lab.effect.keys", []string{"k\"1", fmt.Sprint(i)}),
						attribute.Int64Slice("ints", []int64{int64(-i), 7}),
						attribute.Float64Slice("floats", []float64{0.5, float64(i)}),
						attribute.BoolSlice("bools", []bool{true}),
						attribute.String("payload", strings.Repeat("é", i*40)),
					))
				if i%7 == 0 {
					s.RecordError(errors.New("boom\nline 2"))
					s.SetStatus(codes.Error, "failed: boom")
				}
				s.AddEvent("checkpoint", trace.WithAttributes(attribute.String("at", "mid")))
				s.End()
			}
		})
	}
	wg.Wait()
	root.SetStatus(codes.Ok, "")
	root.End()
	if err := tp.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	got, st := readAll(t, path)
	ended := mem.Ended()
	if len(ended) != 401 || len(got) != len(ended) || st.Spans != 401 || st.Torn+st.Bad != 0 {
		t.Fatalf("recorder %d spans, file %d spans, stats %+v", len(ended), len(got), st)
	}
	if ps := p.Stats(); ps.Spans != 401 || ps.Errors != 0 || ps.Bytes == 0 || p.Err() != nil {
		t.Fatalf("processor stats %+v, err %v", ps, p.Err())
	}
	for _, s := range ended {
		r, ok := got[s.SpanContext().SpanID()]
		if !ok {
			t.Fatalf("span %s %q not in file", s.SpanContext().SpanID(), s.Name())
		}
		switch {
		case r.TraceID != s.SpanContext().TraceID(), r.ParentSpanID != s.Parent().SpanID():
			t.Fatalf("%q ids: file %s/%s, sdk %s/%s", s.Name(), r.TraceID, r.ParentSpanID, s.SpanContext().TraceID(), s.Parent().SpanID())
		case r.Name != s.Name(), r.Kind != s.SpanKind():
			t.Fatalf("name/kind: file %q/%v, sdk %q/%v", r.Name, r.Kind, s.Name(), s.SpanKind())
		case r.Start != s.StartTime().UnixNano(), r.End != s.EndTime().UnixNano():
			t.Fatalf("%q times differ", s.Name())
		case r.StatusCode != s.Status().Code, r.StatusMessage != s.Status().Description:
			t.Fatalf("%q status: file %v %q, sdk %v", s.Name(), r.StatusCode, r.StatusMessage, s.Status())
		case r.Service != "tickets", r.Instance != "tickets-1", r.Scope != "github.com/ticketflow-lab/tflab/test":
			t.Fatalf("%q service/instance/scope: %q %q %q", s.Name(), r.Service, r.Instance, r.Scope)
		}
		if want, have := attribute.NewSet(s.Attributes()...), attribute.NewSet(r.Attrs...); !want.Equals(&have) {
			t.Fatalf("%q attrs\nsdk  %v\nfile %v", s.Name(), want.Encoded(attribute.DefaultEncoder()), have.Encoded(attribute.DefaultEncoder()))
		}
		if len(r.Events) != len(s.Events()) || len(r.Links) != len(s.Links()) {
			t.Fatalf("%q events/links: file %d/%d, sdk %d/%d", s.Name(), len(r.Events), len(r.Links), len(s.Events()), len(s.Links()))
		}
		for i, e := range s.Events() {
			have, want := attribute.NewSet(r.Events[i].Attrs...), attribute.NewSet(e.Attributes...)
			if r.Events[i].Name != e.Name || r.Events[i].Time != e.Time.UnixNano() || !want.Equals(&have) {
				t.Fatalf("%q event %d: file %+v, sdk %+v", s.Name(), i, r.Events[i], e)
			}
		}
		for i, l := range s.Links() {
			if r.Links[i].TraceID != l.SpanContext.TraceID() || r.Links[i].SpanID != l.SpanContext.SpanID() || len(r.Links[i].Attrs) != len(l.Attributes) {
				t.Fatalf("%q link %d: file %+v, sdk %+v", s.Name(), i, r.Links[i], l)
			}
		}
	}
}

func TestProcessorServiceFromResource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	p, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "sla"), attribute.String("service.instance.id", "sla-2"))
	tp := newProvider(t, p, sdktrace.WithResource(res))
	_, s := tp.Tracer("t").Start(t.Context(), "tick")
	s.End()
	got, _ := readAll(t, path)
	r := got[s.SpanContext().SpanID()]
	if r.Service != "sla" || r.Instance != "sla-2" {
		t.Fatalf("service/instance = %q/%q, want sla/sla-2", r.Service, r.Instance)
	}
}

// TestOpenTerminatesTornLine: a file left with a torn last line (the
// previous process was killed mid-write) gets a newline on Open, so the
// next process's first span is a line of its own and intact.
func TestOpenTerminatesTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.jsonl")
	whole := fullRecord(t)
	line := AppendRecord(nil, &whole)
	if err := os.WriteFile(path, append(line, line[:len(line)/2]...), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path, Options{Service: "svc", Instance: "svc-1"})
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, p)
	_, s := tp.Tracer("t").Start(t.Context(), "after restart")
	s.End()
	got, st := readAll(t, path)
	if _, ok := got[s.SpanContext().SpanID()]; !ok || len(got) != 2 {
		t.Fatalf("spans after restart: %d (new span present: %v)", len(got), ok)
	}
	if st.Torn != 1 || st.Bad != 0 || len(st.Problems) != 1 || st.Problems[0].Line != 2 || !st.Problems[0].Torn {
		t.Fatalf("stats %+v", st)
	}
	// A file that already ends in a newline is left alone.
	before, _ := os.ReadFile(path)
	p2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = p2.Shutdown(t.Context())
	if after, _ := os.ReadFile(path); len(after) != len(before) {
		t.Fatalf("Open changed a clean file: %d -> %d bytes", len(before), len(after))
	}
}

func TestProcessorAfterShutdownDrops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.jsonl")
	p, err := Open(path, Options{Service: "s", Instance: "i", Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	tr := tp.Tracer("t")
	_, s := tr.Start(t.Context(), "before")
	s.End()
	if err := p.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	_, s2 := tr.Start(t.Context(), "after")
	s2.End()
	if st := p.Stats(); st.Spans != 1 || st.Dropped != 1 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	_ = tp.Shutdown(t.Context())
}

func TestProcessorDropsOverlongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.jsonl")
	p, err := Open(path, Options{Service: "s", Instance: "i"})
	if err != nil {
		t.Fatal(err)
	}
	tp := newProvider(t, p)
	_, s := tp.Tracer("t").Start(t.Context(), "huge", trace.WithAttributes(attribute.String("blob", strings.Repeat("x", MaxLineBytes))))
	s.End()
	_, s2 := tp.Tracer("t").Start(t.Context(), "small")
	s2.End()
	st := p.Stats()
	if st.Dropped != 1 || st.Errors != 1 || st.Spans != 1 || p.Err() == nil {
		t.Fatalf("stats %+v err %v", st, p.Err())
	}
	got, _ := readAll(t, path)
	if _, ok := got[s2.SpanContext().SpanID()]; !ok || len(got) != 1 {
		t.Fatalf("file has %d spans, want only the small one", len(got))
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("empty path accepted")
	}
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a directory accepted as span file")
	}
}
