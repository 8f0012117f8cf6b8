package run

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

func spanLine(t *testing.T, id byte, messageID string) []byte {
	t.Helper()
	r := &spanfile.Record{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{id}, Name: "sla process", Kind: trace.SpanKindConsumer,
		Start: 1, End: 2, Service: "sla", Instance: "sla-1",
		Attrs: []attribute.KeyValue{otelamqp.MessagingOperationType.String("process"), otelamqp.MessagingMessageID.String(messageID),
			otelamqp.LabMessageType.String("TicketQualified")}}
	return append(spanfile.AppendRecord(nil, r), '\n')
}

func appendTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSpanTail_ReadsWhatWasAppendedAndWaitsForAnUnfinishedLine(t *testing.T) {
	dir := t.TempDir()
	tail := &spanTail{dir: filepath.Join(dir, "traces"), files: map[string]*tailedFile{}}
	var got []string
	read := func() {
		t.Helper()
		if err := tail.read(func(e history.Event) bool { got = append(got, e.Service+"/"+e.MessageID); return true }); err != nil {
			t.Fatal(err)
		}
	}
	read() // no traces directory yet: nothing, no error
	if err := os.MkdirAll(filepath.Join(dir, "traces", "sla"), 0o755); err != nil {
		t.Fatal(err)
	}
	sla := filepath.Join(dir, "traces", "sla", "sla-1.jsonl")
	second := spanLine(t, 2, "m2")
	appendTo(t, sla, slices.Concat(spanLine(t, 1, "m1"), second[:40]))
	read()
	if !slices.Equal(got, []string{"sla/m1"}) {
		t.Fatalf("after a line and a half: %v", got)
	}
	appendTo(t, sla, second[40:])
	read()
	read() // nothing new: nothing twice
	if !slices.Equal(got, []string{"sla/m1", "sla/m2"}) {
		t.Fatalf("after the rest of the line: %v", got)
	}
	// A process killed mid-line leaves a fragment; its successor terminates
	// it (spanfile.Open) and appends whole lines.
	appendTo(t, sla, slices.Concat(spanLine(t, 3, "m3")[:50], []byte("\n"), spanLine(t, 4, "m4")))
	appendTo(t, filepath.Join(dir, "traces", "tickets.jsonl"), spanLine(t, 5, "m5"))
	read()
	if !slices.Equal(got, []string{"sla/m1", "sla/m2", "sla/m4", "sla/m5"}) || tail.skipped != 1 {
		t.Fatalf("after a torn line and a new file: %v (%d skipped)", got, tail.skipped)
	}
}
