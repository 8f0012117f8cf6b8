package run

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
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
// strings shared with the table, so no slice of Events is ever built. The
// files are read in groups, one per CPU (consecutive files of about equal
// size), each into a table of its own; the tables are then appended in
// file order, so the result and the stats are those of one reader.
func ReadSpanTable(dir string) (*history.EventTable, SpanStats, error) {
	files, err := spanfile.Files(dir)
	if err != nil {
		return nil, SpanStats{}, fmt.Errorf("list span files: %w", err)
	}
	sizes := make([]int64, len(files))
	var size int64
	for i, f := range files {
		if fi, err := os.Stat(f); err == nil {
			sizes[i] = fi.Size()
			size += fi.Size()
		}
	}
	groups := fileGroups(sizes, runtime.GOMAXPROCS(0))
	type part struct {
		t   *history.EventTable
		ws  spanfile.WalkStats
		err error
	}
	parts := make([]part, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() {
			t := &history.EventTable{}
			want := size // the first table receives the others
			if i > 0 {
				want = 0
				for _, n := range sizes[g[0]:g[1]] {
					want += n
				}
			}
			t.Reserve(int(min(want/800, 50_000_000))) // a span line is about 900 bytes
			rd := spanfile.Reader{Intern: t.Intern}
			ws, err := rd.Walk(files[g[0]:g[1]], func(r *spanfile.Record, _ spanfile.Position) error {
				e := EventOf(r)
				t.Append(&e)
				return nil
			})
			if i > 0 {
				t.Seal() // AppendTable needs the lookups of the first table only
			}
			parts[i] = part{t, ws, err}
		})
	}
	wg.Wait()
	var st SpanStats
	for _, p := range parts {
		st.Files += p.ws.Files
		st.Spans += p.ws.Spans
		st.Torn += p.ws.Torn
		st.Bad += p.ws.Bad
		for _, pr := range p.ws.Problems {
			if len(st.Problems) < spanfile.MaxProblems {
				st.Problems = append(st.Problems, pr.String())
			}
		}
		if p.err != nil {
			return nil, st, fmt.Errorf("read spans: %w", p.err)
		}
	}
	t := &history.EventTable{}
	if len(parts) > 0 {
		t = parts[0].t
	}
	for _, p := range parts[min(1, len(parts)):] {
		t.AppendTable(p.t)
	}
	t.Seal()
	t.SortByStart()
	return t, st, nil
}

// fileGroups cuts files of the given sizes into at most n runs of
// consecutive files, [from, to) each, of about equal total size.
func fileGroups(sizes []int64, n int) [][2]int {
	var total int64
	for _, s := range sizes {
		total += s
	}
	var groups [][2]int
	from := 0
	var sum int64
	for i, s := range sizes {
		sum += s
		// Close the group once it reaches its share of the bytes.
		if len(groups) < n-1 && sum*int64(n) >= total*int64(len(groups)+1) {
			groups = append(groups, [2]int{from, i + 1})
			from = i + 1
		}
	}
	if from < len(sizes) {
		groups = append(groups, [2]int{from, len(sizes)})
	}
	return groups
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
