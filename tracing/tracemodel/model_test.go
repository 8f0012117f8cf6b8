package tracemodel

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

const (
	trA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" // connected, across two files
	trB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" // orphan
	trC = "cccccccccccccccccccccccccccccccc" // two roots
	trD = "dddddddddddddddddddddddddddddddd" // a duplicated line, still connected
	trE = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" // large chain with one orphan
)

// ln writes a span line by hand; extra is inserted verbatim before the
// closing brace.
func ln(tr, span, parent, name string, start int, extra string) string {
	p := ""
	if parent != "" {
		p = `,"parent_span_id":"` + parent + `"`
	}
	return fmt.Sprintf(`{"v":1,"trace_id":"%s","span_id":"%s"%s,"name":"%s","start":%d,"end":%d%s}`+"\n",
		tr, span, p, name, start, start+10, extra)
}

func writeRun(t *testing.T) string {
	t.Helper()
	run := t.TempDir()
	inquiries := ln(trA, "a000000000000001", "", "POST /inquiries", 100, `,"kind":"server","service":"inquiries","instance":"inquiries-1"`) +
		ln(trA, "a000000000000002", "a000000000000001", "publish InquirySubmitted", 110,
			`,"kind":"producer","service":"inquiries","instance":"inquiries-1","attrs":{"messaging.message.id":"m-1","lab.message.type":"InquirySubmitted","lab.aggregate.version":1}`) +
		"not json at all\n" +
		ln(trB, "b000000000000002", "b0000000000000ff", "process Lost", 300, `,"attrs":{"messaging.message.id":"m-9","lab.message.type":"TicketCreated"}`) +
		ln(trC, "c000000000000001", "", "root one", 400, "") +
		ln(trC, "c000000000000002", "", "root two", 401, "")
	dup := ln(trD, "d000000000000001", "", "only", 500, "")
	tickets := ln(trA, "a000000000000004", "a000000000000002", "process InquirySubmitted", 130,
		`,"kind":"consumer","service":"tickets","instance":"tickets-2","attrs":{"messaging.message.id":"m-1","lab.message.type":"InquirySubmitted","lab.dedup.outcome":"duplicate","lab.redelivered":true,"lab.attempt":2}`) +
		ln(trA, "a000000000000003", "a000000000000002", "process InquirySubmitted", 120,
			`,"kind":"consumer","service":"tickets","instance":"tickets-1","status":"error","status_msg":"boom",`+
				`"attrs":{"messaging.message.id":"m-1","lab.message.type":"InquirySubmitted","lab.dedup.outcome":"processed","lab.redelivered":false,"lab.attempt":1,`+
				`"lab.effect.keys":["ticket:1:create","ticket:1:notify"],"ratio":0.5,"ints":[1,2],"floats":[1.5],"bools":[true,false]},`+
				`"events":[{"name":"exception","time":125,"attrs":{"exception.message":"boom"}}],`+
				`"links":[{"trace_id":"`+trB+`","span_id":"b000000000000002","attrs":{"why":"retry"}}],"dropped":2`) +
		dup + dup
	var chain strings.Builder
	for i := 1; i <= 20; i++ {
		parent := ""
		if i > 1 {
			parent = fmt.Sprintf("e%015x", i-1)
		}
		chain.WriteString(ln(trE, fmt.Sprintf("e%015x", i), parent, fmt.Sprintf("step %d", i), 600+i, ""))
	}
	chain.WriteString(ln(trE, "e0000000000000ff", "e0000000000000fe", "stray", 700, ""))
	torn := ln(trA, "a000000000000009", "a000000000000001", "torn", 140, "")
	files := map[string]string{
		"inquiries.jsonl": inquiries,
		"tickets.jsonl":   tickets + torn[:len(torn)/2],
		"sub/chain.jsonl": chain.String(),
		"ignored.txt":     ln(trA, "a0000000000000ee", "", "not a span file", 1, ""),
	}
	for name, content := range files {
		path := filepath.Join(run, "traces", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func tid(t *testing.T, s string) trace.TraceID {
	t.Helper()
	id, err := trace.TraceIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sid(t *testing.T, s string) trace.SpanID {
	t.Helper()
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func names(spans []Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func TestReadRunStats(t *testing.T) {
	r, err := ReadRun(writeRun(t))
	if err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Files != 3 || st.Spans != 30 || r.Len() != 30 || st.Bad != 1 || st.Torn != 1 || st.Traces != 5 || r.TraceCount() != 5 || st.DuplicateSpans != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if len(st.Problems) != 2 ||
		filepath.Base(st.Problems[0].File) != "inquiries.jsonl" || st.Problems[0].Line != 3 || st.Problems[0].Torn ||
		filepath.Base(st.Problems[1].File) != "tickets.jsonl" || st.Problems[1].Line != 5 || !st.Problems[1].Torn {
		t.Fatalf("problems = %v", st.Problems)
	}
	if len(r.Files()) != 3 {
		t.Fatalf("files = %q", r.Files())
	}
	want := []trace.TraceID{tid(t, trA), tid(t, trB), tid(t, trC), tid(t, trD), tid(t, trE)}
	if got := r.TraceIDs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("TraceIDs = %v", got)
	}
	n := 0
	for range r.All() {
		n++
	}
	if n != 30 {
		t.Fatalf("All yielded %d", n)
	}
}

func TestConnectivity(t *testing.T) {
	r, err := ReadRun(writeRun(t))
	if err != nil {
		t.Fatal(err)
	}
	a := r.Shape(tid(t, trA))
	if !a.Connected() || a.Spans != 4 || len(a.Roots) != 1 || a.Roots[0].Name() != "POST /inquiries" {
		t.Fatalf("trace A shape %+v", a)
	}
	d := r.Shape(tid(t, trD))
	if !d.Connected() || d.Spans != 2 || len(d.Duplicates) != 1 || !d.Duplicates[0].IsDuplicate() || d.Roots[0].IsDuplicate() {
		t.Fatalf("trace D shape %+v", d)
	}
	if s := r.Shape(tid(t, "0123456789abcdef0123456789abcdef")); s.Spans != 0 || s.Connected() {
		t.Fatalf("absent trace shape %+v", s)
	}
	var got []string
	for _, sh := range r.Disconnected() {
		got = append(got, fmt.Sprintf("%s roots=%d orphans=%v", sh.TraceID.String()[:1], len(sh.Roots), names(sh.Orphans)))
	}
	want := []string{"b roots=0 orphans=[process Lost]", "c roots=2 orphans=[]", "e roots=1 orphans=[stray]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Disconnected = %q, want %q", got, want)
	}
}

func TestTreeAndOrder(t *testing.T) {
	r, err := ReadRun(writeRun(t))
	if err != nil {
		t.Fatal(err)
	}
	spans := r.Trace(tid(t, trA))
	if want := []string{"POST /inquiries", "publish InquirySubmitted", "process InquirySubmitted", "process InquirySubmitted"}; !reflect.DeepEqual(names(spans), want) {
		t.Fatalf("trace A in start order = %q", names(spans))
	}
	pub := spans[1]
	kids := pub.Children()
	if len(kids) != 2 || kids[0].Instance() != "tickets-1" || kids[1].Instance() != "tickets-2" {
		t.Fatalf("children of publish: %v", kids)
	}
	if p, ok := kids[0].Parent(); !ok || p != pub {
		t.Fatalf("parent of handling = %v %v", p, ok)
	}
	if p, ok := spans[0].Parent(); ok || p.Valid() || !spans[0].IsRoot() {
		t.Fatalf("root has parent %v", p)
	}
	chain := r.Trace(tid(t, trE))
	if len(chain) != 21 {
		t.Fatalf("chain has %d spans", len(chain))
	}
	for _, s := range chain[1:20] {
		p, ok := s.Parent()
		if !ok || p.Children()[0] != s {
			t.Fatalf("%v: parent link broken (large-trace path)", s)
		}
	}
	if r.Trace(tid(t, "0123456789abcdef0123456789abcdef")) != nil {
		t.Fatal("absent trace has spans")
	}
	found, ok := r.Find(tid(t, trA), sid(t, "a000000000000003"))
	if !ok || found.Instance() != "tickets-1" {
		t.Fatalf("Find = %v %v", found, ok)
	}
	if _, ok := r.Find(tid(t, trA), sid(t, "a0000000000000ee")); ok {
		t.Fatal("Find found a span of an ignored file")
	}
	seen := 0
	for id, spans := range r.Traces() {
		if len(spans) == 0 || spans[0].TraceID() != id {
			t.Fatalf("Traces yielded %s with %v", id, spans)
		}
		seen++
	}
	if seen != 5 {
		t.Fatalf("Traces yielded %d", seen)
	}
}

func TestAttributesAndIndexes(t *testing.T) {
	r, err := ReadRun(writeRun(t))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := r.Find(tid(t, trA), sid(t, "a000000000000003"))
	if !ok {
		t.Fatal("handling span missing")
	}
	if h.Str(otelamqp.MessagingMessageID) != "m-1" || h.Str(otelamqp.LabAttempt) != "" {
		t.Fatalf("Str: %q %q", h.Str(otelamqp.MessagingMessageID), h.Str(otelamqp.LabAttempt))
	}
	if n, ok := h.Int(otelamqp.LabAttempt); !ok || n != 1 {
		t.Fatalf("Int = %d %v", n, ok)
	}
	if b, ok := h.Bool(otelamqp.LabRedelivered); !ok || b {
		t.Fatalf("Bool = %v %v", b, ok)
	}
	if f, ok := h.Float("ratio"); !ok || f != 0.5 {
		t.Fatalf("Float = %v %v", f, ok)
	}
	if _, ok := h.Int("ratio"); ok {
		t.Fatal("Int of a float attribute")
	}
	if got := h.Strings(otelamqp.LabEffectKeys); !reflect.DeepEqual(got, []string{"ticket:1:create", "ticket:1:notify"}) {
		t.Fatalf("Strings = %q", got)
	}
	for key, want := range map[attribute.Key]attribute.Value{
		"ints":   attribute.Int64SliceValue([]int64{1, 2}),
		"floats": attribute.Float64SliceValue([]float64{1.5}),
		"bools":  attribute.BoolSliceValue([]bool{true, false}),
	} {
		if v, ok := h.Attr(key); !ok || v != want {
			t.Fatalf("Attr(%s) = %v %v", key, v.Emit(), ok)
		}
	}
	if _, ok := h.Attr("absent"); ok || h.Has("absent") || !h.Has("ratio") {
		t.Fatal("absent attribute found")
	}
	if len(h.Attrs()) != 10 {
		t.Fatalf("Attrs = %v", h.Attrs())
	}
	if code, msg := h.Status(); code != codes.Error || msg != "boom" {
		t.Fatalf("Status = %v %q", code, msg)
	}
	if h.Kind() != trace.SpanKindConsumer || h.Service() != "tickets" || h.Duration() != 10 || h.Start().UnixNano() != 120 || h.End().UnixNano() != 130 || h.Dropped() != 2 {
		t.Fatalf("fields of %v", h)
	}
	if ev := h.Events(); len(ev) != 1 || ev[0].Name != "exception" || ev[0].Time != 125 || ev[0].Attrs[0].Value.AsString() != "boom" {
		t.Fatalf("Events = %+v", ev)
	}
	if lk := h.Links(); len(lk) != 1 || lk[0].TraceID != tid(t, trB) || lk[0].Attrs[0].Value.AsString() != "retry" {
		t.Fatalf("Links = %+v", lk)
	}
	if w := h.Where(); filepath.Base(w.File) != "tickets.jsonl" || w.Line != 2 || !strings.Contains(h.String(), "tickets.jsonl:2") {
		t.Fatalf("Where = %v, String = %s", w, h)
	}

	if got := names(r.ByMessageID("m-1")); !reflect.DeepEqual(got, []string{"publish InquirySubmitted", "process InquirySubmitted", "process InquirySubmitted"}) {
		t.Fatalf("ByMessageID = %q", got)
	}
	if r.ByMessageID("m-unknown") != nil || r.ByAttr("no.such.key", "m-1") != nil {
		t.Fatal("lookup of absent value found spans")
	}
	if got := r.ByMessageType("TicketCreated"); len(got) != 1 || got[0].Name() != "process Lost" {
		t.Fatalf("ByMessageType = %v", got)
	}
	groups := map[string]int{}
	for v, spans := range r.GroupByAttr(otelamqp.LabMessageType) {
		groups[v] = len(spans)
	}
	if !reflect.DeepEqual(groups, map[string]int{"InquirySubmitted": 3, "TicketCreated": 1}) {
		t.Fatalf("GroupByAttr = %v", groups)
	}
	// Indexes are built once and shared by concurrent readers.
	done := make(chan []Span, 4)
	for range 4 {
		go func() { done <- r.ByAttr(otelamqp.LabDedupOutcome, "duplicate") }()
	}
	for range 4 {
		if got := <-done; len(got) != 1 || got[0].Instance() != "tickets-2" {
			t.Fatalf("concurrent ByAttr = %v", got)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := ReadRun(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing run accepted")
	}
	r, err := Load(nil)
	if err != nil || r.Len() != 0 || r.TraceCount() != 0 || len(r.Disconnected()) != 0 || r.ByMessageID("x") != nil {
		t.Fatalf("empty load: %v %+v", err, r.Stats())
	}
	if !slices.Equal(r.TraceIDs(), []trace.TraceID{}) {
		t.Fatalf("TraceIDs of empty run = %v", r.TraceIDs())
	}
}
