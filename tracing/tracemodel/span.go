package tracemodel

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// Span is a view of one span of a Run: a small value, cheap to copy and
// compare. The zero Span is invalid.
type Span struct {
	r *Run
	i uint32
}

func (s Span) st() *span { return &s.r.spans[s.i] }

// Valid reports whether s refers to a span.
func (s Span) Valid() bool { return s.r != nil }

// Index returns the span's position in file order (Run.At).
func (s Span) Index() int { return int(s.i) }

// TraceID returns the trace id.
func (s Span) TraceID() trace.TraceID { return s.st().trace }

// SpanID returns the span id.
func (s Span) SpanID() trace.SpanID { return s.st().id }

// ParentSpanID returns the parent's span id, zero for a root.
func (s Span) ParentSpanID() trace.SpanID { return s.st().parent }

// IsRoot reports whether the span has no parent id.
func (s Span) IsRoot() bool { return !s.st().parent.IsValid() }

// IsDuplicate reports whether an earlier line had the same ids.
func (s Span) IsDuplicate() bool { return s.st().flags&flagDuplicate != 0 }

// Name returns the span name.
func (s Span) Name() string { return s.r.strs[s.st().name] }

// Kind returns the span kind.
func (s Span) Kind() trace.SpanKind { return trace.SpanKind(s.st().kind) }

// Start returns the start time.
func (s Span) Start() time.Time { return time.Unix(0, s.st().start) }

// End returns the end time.
func (s Span) End() time.Time { return time.Unix(0, s.st().end) }

// Duration returns End - Start.
func (s Span) Duration() time.Duration { return time.Duration(s.st().end - s.st().start) }

// Status returns the status code and message.
func (s Span) Status() (codes.Code, string) { return codeOf(s.st().status), s.r.strs[s.st().statusMsg] }

// Service returns the service that wrote the span.
func (s Span) Service() string { return s.r.strs[s.st().service] }

// Instance returns the service instance that wrote the span.
func (s Span) Instance() string { return s.r.strs[s.st().instance] }

// Scope returns the instrumentation scope (tracer) name.
func (s Span) Scope() string { return s.r.strs[s.st().scope] }

// Dropped returns how many attributes, events and links the SDK dropped.
func (s Span) Dropped() int { return int(s.st().dropped) }

// Where returns the file and line the span was read from.
func (s Span) Where() spanfile.Position {
	st := s.st()
	return spanfile.Position{File: s.r.files[st.file], Line: int64(st.line)}
}

func (s Span) String() string {
	st := s.st()
	return fmt.Sprintf("%q trace=%s span=%s (%s)", s.Name(), st.trace, st.id, s.Where())
}

func (s Span) find(key attribute.Key) (attr, bool) {
	kid, ok := s.r.ids[string(key)]
	if !ok {
		return attr{}, false
	}
	st := s.st()
	for _, a := range s.r.attrs[st.attrOff : st.attrOff+st.attrN] {
		if a.key() == kid {
			return a, true
		}
	}
	return attr{}, false
}

// Attr returns the value of attribute key.
func (s Span) Attr(key attribute.Key) (attribute.Value, bool) {
	a, ok := s.find(key)
	if !ok {
		return attribute.Value{}, false
	}
	return s.r.value(a), true
}

// Has reports whether the span has attribute key.
func (s Span) Has(key attribute.Key) bool {
	_, ok := s.find(key)
	return ok
}

// Str returns a string attribute, "" if absent or of another type.
func (s Span) Str(key attribute.Key) string {
	if a, ok := s.find(key); ok && a.kind() == attribute.STRING {
		return s.r.strs[a.val()]
	}
	return ""
}

// Int returns an int64 attribute.
func (s Span) Int(key attribute.Key) (int64, bool) {
	if a, ok := s.find(key); ok && a.kind() == attribute.INT64 {
		return int64(a.val()), true
	}
	return 0, false
}

// Float returns a float64 attribute.
func (s Span) Float(key attribute.Key) (float64, bool) {
	if a, ok := s.find(key); ok && a.kind() == attribute.FLOAT64 {
		return s.r.value(a).AsFloat64(), true
	}
	return 0, false
}

// Bool returns a bool attribute.
func (s Span) Bool(key attribute.Key) (bool, bool) {
	if a, ok := s.find(key); ok && a.kind() == attribute.BOOL {
		return a.val() == 1, true
	}
	return false, false
}

// Strings returns a string-slice attribute (nil if absent or of another
// type). The slice is new on every call.
func (s Span) Strings(key attribute.Key) []string {
	if a, ok := s.find(key); ok && a.kind() == attribute.STRINGSLICE {
		return s.r.stringSlice(a)
	}
	return nil
}

// Attrs returns all attributes in file order (a new slice).
func (s Span) Attrs() []attribute.KeyValue {
	st := s.st()
	return s.r.kvs(st.attrOff, st.attrN)
}

// Events returns the span events (a new slice).
func (s Span) Events() []spanfile.Event {
	st := s.st()
	if st.eventN == 0 {
		return nil
	}
	out := make([]spanfile.Event, st.eventN)
	for k, e := range s.r.events[st.eventOff : st.eventOff+st.eventN] {
		out[k] = spanfile.Event{Name: s.r.strs[e.name], Time: e.time, Attrs: s.r.kvs(e.attrOff, e.attrN)}
	}
	return out
}

// Links returns the span links (a new slice).
func (s Span) Links() []spanfile.Link {
	st := s.st()
	if st.linkN == 0 {
		return nil
	}
	out := make([]spanfile.Link, st.linkN)
	for k, l := range s.r.links[st.linkOff : st.linkOff+st.linkN] {
		out[k] = spanfile.Link{TraceID: l.trace, SpanID: l.id, Attrs: s.r.kvs(l.attrOff, l.attrN)}
	}
	return out
}

// Parent returns the parent span when it is in the run.
func (s Span) Parent() (Span, bool) {
	if p := s.r.parent[s.i]; p >= 0 {
		return Span{r: s.r, i: uint32(p)}, true
	}
	return Span{}, false
}

// Children returns the spans whose parent is s, in start order.
func (s Span) Children() []Span {
	return s.r.view(s.r.children[s.r.childOff[s.i]:s.r.childOff[s.i+1]])
}
