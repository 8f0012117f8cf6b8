package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// synthesizeInto writes n synthetic spans into a scratch run directory and
// returns its span files' contents by base name.
func synthesizeInto(t *testing.T, n int) map[string][]byte {
	t.Helper()
	src := t.TempDir()
	if _, err := spanfile.Synthesize(src, n, 5); err != nil {
		t.Fatal(err)
	}
	files, err := spanfile.Files(lab.Layout{Dir: src}.Traces())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// appendTo appends data to the named file under dir.
func appendTo(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
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

// findings is a verdict's results as comparable lines: id, status and
// every violation.
func findings(v check.Verdict) []string {
	var out []string
	for _, r := range v.Results {
		out = append(out, fmt.Sprintf("%s %s %d", r.ID, r.Status, len(r.Violations)))
		for _, viol := range r.Violations {
			out = append(out, r.ID+" "+viol.String())
		}
	}
	return out
}

// TestLiveBoardAgreesWithVerify feeds the lab's span files in two parts,
// each file cut mid-line, and checks that the board, judging what it tailed,
// finds exactly what `tflab verify --from-spans` finds in the same files.
func TestLiveBoardAgreesWithVerify(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	traces := lab.Layout{Dir: c.cfg.Info().RunDir}.Traces()
	if err := os.MkdirAll(traces, 0o755); err != nil {
		t.Fatal(err)
	}
	files := synthesizeInto(t, 3000)
	now := time.Now()
	for name, b := range files {
		appendTo(t, traces, name, b[:len(b)/2]) // a torn last line: kept until the rest arrives
	}
	first := c.board(t.Context(), now)
	if first.Spans == 0 {
		t.Fatal("the board read no span of the first half")
	}
	for name, b := range files {
		appendTo(t, traces, name, b[len(b)/2:])
	}
	bv := c.board(t.Context(), now.Add(time.Hour)) // past any throttle
	lv, _, err := c.judge(now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	systems, err := sut.NewRegistry(ticketflow.System())
	if err != nil {
		t.Fatal(err)
	}
	ver, err := run.Verify(c.cfg.Info().RunDir, run.VerifyOptions{FromSpans: true, Systems: systems})
	if err != nil {
		t.Fatal(err)
	}
	if bv.Spans != ver.History.NumEvents() {
		t.Fatalf("the board judged %d spans, verify %d", bv.Spans, ver.History.NumEvents())
	}
	got, want := findings(lv), findings(ver.Verdict)
	if !slices.Equal(got, want) {
		t.Fatalf("board and verify disagree:\nboard:  %s\nverify: %s", strings.Join(got, "\n        "), strings.Join(want, "\n        "))
	}
	if lv.Outcome != ver.Verdict.Outcome {
		t.Fatalf("board outcome %s, verify %s", lv.Outcome, ver.Verdict.Outcome)
	}
	violated := 0
	for _, row := range bv.Rows {
		r, _ := ver.Verdict.Result(row.ID)
		if row.Status != r.Status || row.Findings != len(r.Violations) {
			t.Errorf("row %s: %s with %d findings, verify %s with %d", row.ID, row.Status, row.Findings, r.Status, len(r.Violations))
		}
		if r.Status == check.Violated {
			violated++
			if row.Class != "bad" || row.Latest == nil || row.Latest.String() != r.Violations[len(r.Violations)-1].String() {
				t.Errorf("row %s: class %s, latest %v", row.ID, row.Class, row.Latest)
			}
		}
	}
	if violated == 0 {
		t.Fatal("the synthetic spans broke no invariant: the comparison shows nothing")
	}

	// The rendered board links every latest finding to its waterfall.
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000/live/board", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /live/board: %d %s", rec.Code, rec.Body)
	}
	for _, row := range bv.Rows {
		if row.Latest == nil {
			continue
		}
		for _, id := range row.Latest.TraceIDs {
			if !strings.Contains(rec.Body.String(), `href="/trace?id=`+url.QueryEscape(id)+`"`) {
				t.Errorf("the board does not link trace %s of %s", id, row.ID)
			}
		}
		if !strings.Contains(rec.Body.String(), `id="inv-`+row.ID+`" class="inv bad"`) {
			t.Errorf("the board does not show %s red", row.ID)
		}
	}
}

// TestLiveSeries checks the charts' data: handlings per second over the
// window, latencies from the publish, and the console's faults as bands.
func TestLiveSeries(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	traces := lab.Layout{Dir: c.cfg.Info().RunDir}.Traces()
	if err := os.MkdirAll(traces, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range synthesizeInto(t, 600) {
		appendTo(t, traces, name, b)
	}
	events, _, err := run.ReadSpans(traces)
	if err != nil {
		t.Fatal(err)
	}
	var end time.Time
	handled := 0
	for _, e := range events {
		if e.End.After(end) {
			end = e.End
		}
		if e.Kind == history.KindProcess {
			handled++
		}
	}
	if rec := post(c.Handler(), "/inject/message", url.Values{"service": {"tickets"}, "fault": {"drop-ack"}}, sameSite); rec.Code != http.StatusOK {
		t.Fatalf("inject: %d %s", rec.Code, rec.Body)
	}
	s := c.series(t.Context(), end.Add(time.Second))
	sum, lat := 0.0, 0
	for i := range s.X {
		sum += s.Handled[i]
		if s.Max[i] != nil {
			lat++
			if *s.P50[i] > *s.Max[i] || *s.P50[i] < 0 {
				t.Fatalf("second %d: median %v above max %v", i, *s.P50[i], *s.Max[i])
			}
		}
	}
	if int(sum) != handled {
		t.Fatalf("the series counts %v handlings, the spans hold %d", sum, handled)
	}
	if lat == 0 {
		t.Fatal("no second has a latency")
	}
	if len(s.X) != int(liveWindow/time.Second)+1 || len(s.P50) != len(s.X) {
		t.Fatalf("series of %d seconds (%d medians)", len(s.X), len(s.P50))
	}
	if len(s.Bands) != 1 || !strings.Contains(s.Bands[0].Label, "drop-ack tickets") || s.Bands[0].To != 0 {
		t.Fatalf("bands %+v, want the active drop-ack", s.Bands)
	}
	if rec := post(c.Handler(), "/heal-all", nil, sameSite); rec.Code != http.StatusOK {
		t.Fatalf("heal all: %d", rec.Code)
	}
	s = c.series(t.Context(), time.Now())
	if len(s.Bands) != 1 || s.Bands[0].To < s.Bands[0].From {
		t.Fatalf("after the heal, bands %+v", s.Bands)
	}
}

// TestLiveStream reads the first Server-Sent Event of /live/stream.
func TestLiveStream(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	page := httptest.NewRecorder()
	c.Handler().ServeHTTP(page, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000/live", nil))
	for _, want := range []string{`id="chart-throughput"`, `id="chart-depth"`, `/static/vendor/uplot.iife.min.js`, `id="board"`} {
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), want) {
			t.Fatalf("GET /live: %d, no %s", page.Code, want)
		}
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/live/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if after, ok := strings.CutPrefix(line, "event: "); ok {
			event = after
		}
		if after, ok := strings.CutPrefix(line, "data: "); ok {
			var s liveSeries
			if err := json.NewDecoder(bytes.NewReader([]byte(after))).Decode(&s); err != nil {
				t.Fatal(err)
			}
			if event != "series" || len(s.X) == 0 || s.Now == 0 {
				t.Fatalf("event %q: %+v", event, s)
			}
			return
		}
	}
	t.Fatalf("the stream ended without an event: %v", sc.Err())
}

// The board judges the live history with the broker's holdings of the last
// sample, so a message still in a queue counts as stuck, not lost.
func TestLiveBoardJudgesWithTheBrokersHoldings(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	var judged []*history.History
	c.cfg.Evaluate = func(h *history.History) check.Verdict {
		judged = append(judged, h)
		return check.Verdict{Outcome: check.OutcomeInconclusive}
	}
	traces := lab.Layout{Dir: c.cfg.Info().RunDir}.Traces()
	if err := os.MkdirAll(traces, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	files := synthesizeInto(t, 100)
	for name, b := range files {
		appendTo(t, traces, name, b[:len(b)/2])
	}
	c.board(t.Context(), now)
	hd := &history.Holdings{At: now, Queues: []history.QueueHolding{{Queue: "sla-ticket-changes", Ready: 1,
		Messages: []history.HeldMessage{{MessageID: "m-1", Type: "TicketQualified"}}}}}
	l := c.live()
	l.mu.Lock()
	l.holdings = hd
	l.mu.Unlock()
	for name, b := range files {
		appendTo(t, traces, name, b[len(b)/2:])
	}
	c.board(t.Context(), now.Add(time.Hour)) // past any throttle
	if len(judged) != 2 {
		t.Fatalf("judged %d times, want 2", len(judged))
	}
	if judged[0].Snapshot.Holdings != nil {
		t.Errorf("first judgement had holdings %+v before any sample", judged[0].Snapshot.Holdings)
	}
	if judged[1].Snapshot.Holdings != hd {
		t.Errorf("second judgement had holdings %+v, want the last sample's", judged[1].Snapshot.Holdings)
	}
}
