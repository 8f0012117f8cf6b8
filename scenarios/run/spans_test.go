package run

import (
	"encoding/json"
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// sample values per attribute type, for the 1:1 mapping test.
func sampleAttr(key string) attribute.KeyValue {
	k := attribute.Key(key)
	switch key {
	case "lab.redelivered":
		return k.Bool(true)
	case "lab.attempt", "lab.aggregate.version", "lab.publish.republish":
		return k.Int64(3)
	case "lab.effect.keys":
		return k.StringSlice([]string{"closure:t1"})
	case "messaging.operation.type":
		return k.String("process")
	}
	return k.String("v-" + key)
}

// TestEventOfMapsEveryAttribute: each history.EventAttributes entry fills
// its own JSON field of the event, and only that field.
func TestEventOfMapsEveryAttribute(t *testing.T) {
	for field, key := range history.EventAttributes {
		t.Run(field, func(t *testing.T) {
			base := EventOf(&spanfile.Record{Name: "x"})
			e := EventOf(&spanfile.Record{Name: "x", Attrs: []attribute.KeyValue{sampleAttr(key)}})
			got, want := jsonFields(t, e), jsonFields(t, base)
			changed := []string{}
			for k, v := range got {
				if !reflect.DeepEqual(v, want[k]) {
					changed = append(changed, k)
				}
			}
			if len(changed) != 1 || changed[0] != field {
				t.Fatalf("attribute %s changed fields %v, want just %q", key, changed, field)
			}
		})
	}
}

func jsonFields(t *testing.T, e history.Event) map[string]any {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEventOfKindsAndFallbacks(t *testing.T) {
	cases := []struct {
		attrs []attribute.KeyValue
		want  string
	}{
		{[]attribute.KeyValue{otelamqp.MessagingOperationType.String("publish")}, history.KindPublish},
		{[]attribute.KeyValue{otelamqp.MessagingOperationType.String("create")}, history.KindCreate},
		{[]attribute.KeyValue{otelamqp.MessagingOperationType.String("receive")}, history.KindProcess},
		{[]attribute.KeyValue{otelamqp.LabCommand.String("QualifyTicket"), otelamqp.LabTxOutcome.String("committed")}, history.KindCommand},
		{nil, history.KindOther},
	}
	for _, c := range cases {
		e := EventOf(&spanfile.Record{Attrs: c.attrs, Service: "tickets", Instance: "tickets-2"})
		if e.Kind != c.want {
			t.Errorf("%v: kind %q, want %q", c.attrs, e.Kind, c.want)
		}
		if e.Service != "tickets" || e.Instance != "tickets-2" {
			t.Errorf("service fallback: %q %q", e.Service, e.Instance)
		}
	}
	cmd := EventOf(&spanfile.Record{Attrs: []attribute.KeyValue{otelamqp.LabCommand.String("Resolve"), otelamqp.LabTxOutcome.String(otelamqp.TxRolledBack)},
		StatusCode: codes.Error, StatusMessage: "anomaly ProducerErrorWithinTransaction"})
	if !cmd.RolledBack() || cmd.Committed() || cmd.Error != "anomaly ProducerErrorWithinTransaction" {
		t.Errorf("rolled-back command %+v", cmd)
	}
	own := EventOf(&spanfile.Record{Service: "resource-name", Attrs: []attribute.KeyValue{otelamqp.LabService.String("sla")}})
	if own.Service != "sla" {
		t.Errorf("lab.service must win over the resource: %q", own.Service)
	}
	f := EventOf(&spanfile.Record{Attrs: []attribute.KeyValue{otelamqp.LabAttempt.Float64(2)}})
	if f.Attempt != 2 {
		t.Errorf("float attempt read as %d", f.Attempt)
	}
}

func TestReadSpansOrdersByStartAndSkipsTornLines(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	rec := func(n byte, start time.Duration, svc string) *spanfile.Record {
		return &spanfile.Record{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{n}, Name: "process q", Kind: trace.SpanKindConsumer,
			Start: t0.Add(start).UnixNano(), End: t0.Add(start + time.Millisecond).UnixNano(), Service: svc,
			Attrs: []attribute.KeyValue{otelamqp.MessagingOperationType.String("process"), otelamqp.MessagingMessageID.String("m")}}
	}
	write := func(name string, recs []*spanfile.Record, tail string) {
		var b []byte
		for _, r := range recs {
			b = spanfile.AppendRecord(b, r)
		}
		b = append(b, tail...)
		if err := os.MkdirAll(filepath.Join(dir, "traces"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "traces", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sla.jsonl", []*spanfile.Record{rec(3, 3*time.Second, "sla"), rec(1, time.Second, "sla")}, `{"v":1,"trace_id":"0100`)
	write("tickets.jsonl", []*spanfile.Record{rec(2, 2*time.Second, "tickets")}, "")
	events, st, err := ReadSpans(filepath.Join(dir, "traces"))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || st.Spans != 3 || st.Torn != 1 || st.Files != 2 || len(st.Problems) != 1 {
		t.Fatalf("events %d, stats %+v", len(events), st)
	}
	for i, want := range []byte{1, 2, 3} {
		if events[i].SpanID[0] != want {
			t.Errorf("event %d is span %d", i, events[i].SpanID[0])
		}
	}
	if events[1].Service != "tickets" || events[1].MessageID != "m" || !events[1].Start.Equal(t0.Add(2*time.Second)) {
		t.Errorf("event %+v", events[1])
	}
}

// ReadSpanTable holds what ReadSpans returns, in the same order, and the
// checkers reach the same verdict on either.
func TestReadSpanTableMatchesReadSpans(t *testing.T) {
	dir := t.TempDir()
	if _, err := spanfile.Synthesize(dir, 3000, 4); err != nil {
		t.Fatal(err)
	}
	events, st, err := ReadSpans(dir)
	if err != nil {
		t.Fatal(err)
	}
	table, tst, err := ReadSpanTable(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, tst) || table.Len() != len(events) || len(events) < 3000 {
		t.Fatalf("ReadSpans: %d events, %+v; ReadSpanTable: %d, %+v", len(events), st, table.Len(), tst)
	}
	if got := table.Events(); !reflect.DeepEqual(got, events) {
		for i := range got {
			if !reflect.DeepEqual(got[i], events[i]) {
				t.Fatalf("event %d from the table:\n%#v\nfrom ReadSpans:\n%#v", i, got[i], events[i])
			}
		}
	}
	want := check.Evaluate(&history.History{Events: events}, invariants.All...)
	got := check.Evaluate(&history.History{Table: table}, invariants.All...)
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("verdict from the table:\n%+v\nfrom the events:\n%+v", got, want)
	}
}
