package console

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// synthRun is a console over a synthesized run directory in its runs root,
// with the run's spans as events.
func synthRun(t *testing.T) (*Console, string, []history.Event) {
	t.Helper()
	c, _ := newTestConsole(t, os.Getpid())
	dir := filepath.Join(c.cfg.RunsRoot, "20260101-000000-synth")
	if _, err := spanfile.Synthesize(dir, 3000, 5); err != nil {
		t.Fatal(err)
	}
	events, _, err := run.ReadSpans(filepath.Join(dir, "traces"))
	if err != nil {
		t.Fatal(err)
	}
	return c, dir, events
}

func TestWaterfallMarksDedupSkipsAndRedeliveries(t *testing.T) {
	c, _, events := synthRun(t)
	var id, msg string
	for _, e := range events {
		if e.Dedup == history.DedupDuplicate {
			id, msg = e.TraceID.String(), e.MessageID
			break
		}
	}
	if id == "" {
		t.Fatal("no dedup skip in the synthesized spans")
	}
	for _, q := range []string{id, msg} {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000/trace?run=20260101-000000-synth&id="+q, nil))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "dedup-skip") || !strings.Contains(body, "redelivered") {
			t.Fatalf("GET /trace?id=%s: %d, marks missing:\n%s", q, rec.Code, body)
		}
		if strings.Contains(body, "ZgotmplZ") || !strings.Contains(body, "margin-left: ") {
			t.Fatalf("bars not positioned:\n%s", body)
		}
	}
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000/trace?run=../x&id=abc", nil))
	if !strings.Contains(rec.Body.String(), "no such run") {
		t.Fatalf("a run name with a path was followed:\n%s", rec.Body)
	}
}

// A business key (the aggregate id) finds its flows too, and the injected
// faults that acted on a span's service while it ran are marked on it, from
// the run's history.json.
func TestWaterfallFollowsABusinessKeyAndMarksTheFaults(t *testing.T) {
	c, dir, events := synthRun(t)
	var key string
	var span history.Event
	for _, e := range events {
		if e.AggregateID != "" && e.Kind == history.KindProcess && e.Service != "" {
			key, span = e.AggregateID, e
			break
		}
	}
	if key == "" {
		t.Fatal("no handling with an aggregate id in the synthesized spans")
	}
	h := &history.History{Meta: history.Meta{SchemaVersion: history.SchemaVersion, Scenario: "synth"}, Faults: []history.Fault{
		{Name: "slow-link", Type: "network", Op: "latency", Target: span.Service, Started: span.Start.Add(-time.Second), Healed: span.End.Add(time.Second)},
		{Name: "elsewhere", Type: "network", Op: "latency", Target: "no-such-service", Started: span.Start.Add(-time.Second)},
		{Name: "later", Type: "network", Op: "latency", Target: span.Service, Started: span.End.Add(time.Hour)},
	}}
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000/trace?run=20260101-000000-synth&id="+key, nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || strings.Contains(body, `id="trace-error"`) {
		t.Fatalf("GET /trace?id=%s (an aggregate id): %d\n%s", key, rec.Code, body)
	}
	if !strings.Contains(body, `<span class="mark fault">slow-link latency</span>`) {
		t.Errorf("the fault on %s while the span ran is not marked", span.Service)
	}
	for _, other := range []string{"elsewhere", "later"} {
		if strings.Contains(body, other+" latency") {
			t.Errorf("fault %s is marked though it did not act on the spans", other)
		}
	}
}
