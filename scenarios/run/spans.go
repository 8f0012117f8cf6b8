package run

import (
	"fmt"
	"os"
	"sort"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// SpanStats says what reading the span files found.
type SpanStats struct {
	Files int
	Spans int64
	Torn  int64 // lines cut short by a killed process (expected after kill -9)
	Bad   int64 // malformed lines (a bug)
	// Problems are the first skipped lines, "file:line: why".
	Problems []string
}

// ReadSpans streams every span file under dir (recursively) into history
// events, ordered by start time. Every span of a flow becomes an event (kind
// "other" when it is neither a publish, an outbox write, a handling nor a
// command), so the trace checker sees each flow whole. Torn and malformed
// lines are skipped and counted.
func ReadSpans(dir string) ([]history.Event, SpanStats, error) {
	files, err := spanfile.Files(dir)
	if err != nil {
		return nil, SpanStats{}, fmt.Errorf("list span files: %w", err)
	}
	return ReadSpanFiles(files)
}

// ReadSpanFiles is ReadSpans over a list of files.
func ReadSpanFiles(files []string) ([]history.Event, SpanStats, error) {
	in := map[string]string{}
	intern := func(b []byte) string {
		if s, ok := in[string(b)]; ok {
			return s
		}
		s := string(b)
		in[s] = s
		return s
	}
	rd := spanfile.Reader{Intern: intern}
	// Size the slice from the files (a span line is about 900 bytes)
	// so a million spans are not copied through repeated doublings.
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	events := make([]history.Event, 0, int(min(size/800, 50_000_000)))
	ws, err := rd.Walk(files, func(r *spanfile.Record, _ spanfile.Position) error {
		events = append(events, EventOf(r))
		return nil
	})
	st := SpanStats{Files: ws.Files, Spans: ws.Spans, Torn: ws.Torn, Bad: ws.Bad}
	for _, p := range ws.Problems {
		st.Problems = append(st.Problems, p.String())
	}
	if err != nil {
		return nil, st, fmt.Errorf("read spans: %w", err)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Start.Before(events[j].Start) })
	return events, st, nil
}

// ReadSpanTable is ReadSpans into an event table, the compact form for
// judging a large run: each span is flattened by EventOf and appended, its
// strings shared with the table, so no slice of Events is ever built.
func ReadSpanTable(dir string) (*history.EventTable, SpanStats, error) {
	files, err := spanfile.Files(dir)
	if err != nil {
		return nil, SpanStats{}, fmt.Errorf("list span files: %w", err)
	}
	t := &history.EventTable{}
	defer t.Seal()
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	t.Reserve(int(min(size/800, 50_000_000))) // a span line is about 900 bytes
	rd := spanfile.Reader{Intern: t.Intern}
	ws, err := rd.Walk(files, func(r *spanfile.Record, _ spanfile.Position) error {
		e := EventOf(r)
		t.Append(&e)
		return nil
	})
	st := SpanStats{Files: ws.Files, Spans: ws.Spans, Torn: ws.Torn, Bad: ws.Bad}
	for _, p := range ws.Problems {
		st.Problems = append(st.Problems, p.String())
	}
	if err != nil {
		return nil, st, fmt.Errorf("read spans: %w", err)
	}
	t.SortByStart()
	return t, st, nil
}

// EventOf flattens one span into a history event. Each field comes from the
// span attribute history.EventAttributes names (a test keeps the two in
// step); the kind from messaging.operation.type ("publish", "create",
// "process"/"receive"), or "command" for a span carrying lab.command, else
// "other". The span's service and instance fill in when the lab attributes
// are absent.
func EventOf(r *spanfile.Record) history.Event {
	e := history.Event{
		Name:     r.Name,
		Start:    time.Unix(0, r.Start),
		End:      time.Unix(0, r.End),
		TraceID:  history.TraceID(r.TraceID),
		SpanID:   history.SpanID(r.SpanID),
		ParentID: history.SpanID(r.ParentSpanID),
	}
	command := false
	for _, kv := range r.Attrs {
		switch kv.Key {
		case otelamqp.MessagingOperationType:
			switch kv.Value.AsString() {
			case "publish":
				e.Kind = history.KindPublish
			case "create":
				e.Kind = history.KindCreate
			case "process", "receive":
				e.Kind = history.KindProcess
			}
		case otelamqp.LabCommand:
			command = true
		case otelamqp.LabService:
			e.Service = kv.Value.AsString()
		case otelamqp.LabInstance:
			e.Instance = kv.Value.AsString()
		case otelamqp.MessagingMessageID:
			e.MessageID = kv.Value.AsString()
		case otelamqp.LabMessageType:
			e.MessageType = kv.Value.AsString()
		case otelamqp.MessagingConversationID:
			e.CorrelationID = kv.Value.AsString()
		case otelamqp.LabCausationID:
			e.CausationID = kv.Value.AsString()
		case otelamqp.MessagingDestinationName:
			e.Destination = kv.Value.AsString()
		case otelamqp.MessagingRoutingKey:
			e.RoutingKey = kv.Value.AsString()
		case otelamqp.LabAggregateID:
			e.AggregateID = kv.Value.AsString()
		case otelamqp.LabAggregateVer:
			e.AggregateVersion = intOf(kv.Value)
		case otelamqp.LabRedelivered:
			e.Redelivered = kv.Value.Type() == attribute.BOOL && kv.Value.AsBool()
		case otelamqp.LabAttempt:
			e.Attempt = int(intOf(kv.Value))
		case otelamqp.LabDedupOutcome:
			e.Dedup = kv.Value.AsString()
		case otelamqp.LabOrderOutcome:
			e.Order = kv.Value.AsString()
		case otelamqp.LabOutcome:
			e.Outcome = kv.Value.AsString()
		case otelamqp.LabEffectKeys:
			if kv.Value.Type() == attribute.STRINGSLICE {
				e.EffectKeys = kv.Value.AsStringSlice()
			}
		case otelamqp.LabTxOutcome:
			e.Tx = kv.Value.AsString()
		case otelamqp.LabPublishVia:
			e.PublishVia = kv.Value.AsString()
		case otelamqp.LabConfirmOutcome:
			e.Confirm = kv.Value.AsString()
		case otelamqp.LabRepublish:
			e.Republish = int(intOf(kv.Value))
		}
	}
	if e.Kind == "" {
		e.Kind = history.KindOther
		if command {
			e.Kind = history.KindCommand
		}
	}
	if e.Service == "" {
		e.Service = r.Service
	}
	if e.Instance == "" {
		e.Instance = r.Instance
	}
	if r.StatusCode == codes.Error {
		e.Error = r.StatusMessage
		if e.Error == "" {
			e.Error = "error"
		}
	}
	return e
}

// intOf reads an integer attribute, tolerating one written as a float.
func intOf(v attribute.Value) int64 {
	switch v.Type() {
	case attribute.INT64:
		return v.AsInt64()
	case attribute.FLOAT64:
		return int64(v.AsFloat64())
	}
	return 0
}
