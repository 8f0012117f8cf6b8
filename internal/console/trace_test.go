package console

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

func TestWaterfallMarksDedupSkipsAndRedeliveries(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	dir := filepath.Join(c.cfg.RunsRoot, "20260101-000000-synth")
	if _, err := spanfile.Synthesize(dir, 3000, 5); err != nil {
		t.Fatal(err)
	}
	events, _, err := run.ReadSpans(filepath.Join(dir, "traces"))
	if err != nil {
		t.Fatal(err)
	}
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
