package spanfile

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Version is the schema version written in every line's "v" field. Readers
// reject lines with another version. Adding optional fields does not change
// it; renaming or retyping a field does.
const Version = 1

// MaxLineBytes bounds one line. The processor refuses to write a longer line
// (the span is counted in Stats.Dropped and logged) and the reader skips one
// as a bad line, so a single runaway attribute cannot wedge a load.
const MaxLineBytes = 16 << 20

// Record is one span line, decoded. It is the unit the encoder writes and
// the decoder fills; see the package documentation for the JSON field of
// each member.
type Record struct {
	TraceID       trace.TraceID
	SpanID        trace.SpanID
	ParentSpanID  trace.SpanID // zero for a root span
	Name          string
	Kind          trace.SpanKind
	Start, End    int64 // unix nanoseconds
	StatusCode    codes.Code
	StatusMessage string
	Service       string
	Instance      string
	Scope         string // instrumentation scope (tracer) name
	Attrs         []attribute.KeyValue
	Events        []Event
	Links         []Link
	Dropped       int64 // attributes, events and links the SDK dropped at its limits
}

// Event is a span event.
type Event struct {
	Name  string
	Time  int64 // unix nanoseconds
	Attrs []attribute.KeyValue
}

// Link is a span link.
type Link struct {
	TraceID trace.TraceID
	SpanID  trace.SpanID
	Attrs   []attribute.KeyValue
}

// reset empties r for reuse, keeping slice capacity.
func (r *Record) reset() {
	evs, lks, attrs := r.Events[:0], r.Links[:0], r.Attrs[:0]
	*r = Record{Attrs: attrs, Events: evs, Links: lks}
}

var kindNames = [...]string{
	trace.SpanKindUnspecified: "",
	trace.SpanKindInternal:    "internal",
	trace.SpanKindServer:      "server",
	trace.SpanKindClient:      "client",
	trace.SpanKindProducer:    "producer",
	trace.SpanKindConsumer:    "consumer",
}

func kindName(k trace.SpanKind) string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

func kindFromName(b []byte) (trace.SpanKind, bool) {
	for k, n := range kindNames {
		if k > 0 && string(b) == n {
			return trace.SpanKind(k), true
		}
	}
	return 0, false
}
