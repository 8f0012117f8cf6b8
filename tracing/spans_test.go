package tracing

import (
	"cmp"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// runSpans is every span line of a run directory, read back through the
// span file reader the checkers use.
type runSpans []spanfile.Record

func readRunSpans(t *testing.T, dir string) runSpans {
	t.Helper()
	files, err := spanfile.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out runSpans
	st, err := spanfile.Walk(files, func(r *spanfile.Record, _ spanfile.Position) error {
		c := *r
		c.Attrs = slices.Clone(r.Attrs)
		c.Events, c.Links = nil, nil
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Torn+st.Bad != 0 {
		t.Fatalf("span files: %d torn, %d bad lines: %v", st.Torn, st.Bad, st.Problems)
	}
	return out
}

// traces counts the distinct trace ids.
func (s runSpans) traces() int {
	ids := map[trace.TraceID]bool{}
	for _, r := range s {
		ids[r.TraceID] = true
	}
	return len(ids)
}

// orphans lists the spans whose parent span is not in the run.
func (s runSpans) orphans() []string {
	have := map[trace.SpanID]bool{}
	for _, r := range s {
		have[r.SpanID] = true
	}
	var out []string
	for _, r := range s {
		if r.ParentSpanID.IsValid() && !have[r.ParentSpanID] {
			out = append(out, r.Name+" "+r.SpanID.String())
		}
	}
	return out
}

// parent is the span whose id is r's parent id.
func (s runSpans) parent(r spanfile.Record) (spanfile.Record, bool) {
	i := slices.IndexFunc(s, func(p spanfile.Record) bool { return p.SpanID == r.ParentSpanID && p.TraceID == r.TraceID })
	if i < 0 {
		return spanfile.Record{}, false
	}
	return s[i], true
}

// byAttr groups the spans carrying key by its string value, each group in
// start order.
func (s runSpans) byAttr(key attribute.Key) map[string][]spanfile.Record {
	out := map[string][]spanfile.Record{}
	for _, r := range s {
		for _, kv := range r.Attrs {
			if kv.Key == key {
				out[kv.Value.AsString()] = append(out[kv.Value.AsString()], r)
			}
		}
	}
	for _, g := range out {
		slices.SortStableFunc(g, func(a, b spanfile.Record) int { return cmp.Compare(a.Start, b.Start) })
	}
	return out
}
