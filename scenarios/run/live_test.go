package run

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/anomalies"
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

// liveFault is a message fault stand-in: until its heal its healer reports
// what it has done so far; its heal records that into the evidence.
type liveFault struct {
	ev    *anomalies.Evidence
	count float64
	asked atomic.Int64
}

func (f *liveFault) Name() string { return "live" }

func (f *liveFault) Inject(context.Context) (anomalies.Healer, error) { return &liveHealer{f: f}, nil }

type liveHealer struct {
	f       *liveFault
	healing atomic.Bool
}

func (h *liveHealer) Heal(context.Context) error {
	h.healing.Store(true)
	h.f.ev.Add(anomalies.CounterProxyConfirmsDropped, h.f.count)
	return nil
}

func (h *liveHealer) EvidenceSoFar(context.Context) (map[string]float64, error) {
	h.f.asked.Add(1)
	if h.healing.Load() {
		return nil, nil
	}
	return map[string]float64{anomalies.CounterProxyConfirmsDropped: h.f.count}, nil
}

func TestLiveCounters_CountTheInstalledMessageFaultsOnceEach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		env := &anomalies.Env{Evidence: anomalies.NewEvidence()}
		live := &liveFault{ev: env.Evidence, count: 2}
		other := &fakeAnomaly{name: "other", base: base}
		tl := newTimeline([]step{{sched("live", 0, 2*time.Second), live}, {sched("other", 0, 3*time.Second), other}},
			time.Second, slog.New(slog.DiscardHandler))
		r := &runner{env: env, tl: tl, log: slog.New(slog.DiscardHandler)}
		read := r.liveCounters(newWatcher(nil, time.Second, nil))
		confirms := []string{anomalies.CounterProxyConfirmsDropped}
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()

		time.Sleep(time.Second)
		synctest.Wait()
		if got := read(t.Context(), []string{"processes.killed"}); live.asked.Load() != 0 {
			t.Errorf("the installed fault was asked for %v", got)
		}
		if got := read(t.Context(), confirms)[anomalies.CounterProxyConfirmsDropped]; got != 2 {
			t.Errorf("installed: %s = %v, want 2 (what the fault did so far)", confirms[0], got)
		}
		<-done
		if got := read(t.Context(), confirms)[anomalies.CounterProxyConfirmsDropped]; got != 2 {
			t.Errorf("healed: %s = %v, want 2 (recorded by the heal, not counted again)", confirms[0], got)
		}
		if n := live.asked.Load(); n != 1 {
			t.Errorf("the fault was asked %d times, want once (while installed)", n)
		}
	})
}
