//go:build integration

package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/console"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// TestMain doubles as the service binary of the tests' labs: they run the
// placeholder service (placeholder.Command) under Ticketflow's service
// names, which the fault vocabulary knows, or with ticketflowEnv set too,
// the real Ticketflow service of that name.
func TestMain(m *testing.M) {
	os.Exit(placeholder.TestMainWith(m, func(name string) service.Main {
		if os.Getenv(ticketflowEnv) == "1" {
			return ticketflowMains[name]
		}
		return nil
	}))
}

// chromium finds a headless-capable browser or skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium: install it (apt-get install chromium, or make deps) to run the console's browser tests")
	return ""
}

// tab is one headless Chromium tab of a browser test; every action runs
// under the deadline openTab gave it. Its methods fail the test they are
// given.
type tab struct{ ctx context.Context }

// openTab finds Chromium (or skips the test) and starts it headless; every
// action runs under a deadline of within from now.
func openTab(t *testing.T, within time.Duration) *tab {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(1400, 1000))
	actx, cancelA := chromedp.NewExecAllocator(t.Context(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelC := context.WithTimeout(bctx, within)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return &tab{ctx: ctx}
}

// do runs void steps.
func (b *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// text waits at most a minute for sel to be visible and reads it.
func (b *tab) text(t *testing.T, sel string) string {
	t.Helper()
	wctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("wait for %s: %v", sel, err)
	}
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// count is the number of elements sel matches now.
func (b *tab) count(t *testing.T, sel string) int {
	t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// until polls a JavaScript predicate; the browser's own clock paces it.
func (b *tab) until(t *testing.T, what, js string, within time.Duration) {
	t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(within)))
	if err != nil || !ok {
		t.Fatalf("%s: not within %s (%v)", what, within, err)
	}
}

// eval evaluates a JavaScript expression to a string.
func (b *tab) eval(t *testing.T, js string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// screenshot saves the page as NAME.png among the test's artefacts.
func (b *tab) screenshot(t *testing.T, name string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// browserLab starts a lab of the test binary's services (placeholder.Command,
// with env added) on the shared broker, in a run directory under a fresh
// runs root, and waits for it to be healthy.
func browserLab(t *testing.T, services []lab.ServiceSpec, env []string, seed int64, healthy time.Duration) (*lab.Lab, labtest.Broker, string) {
	t.Helper()
	b := labtest.SharedBroker(t)
	runs := filepath.Join(t.TempDir(), "runs")
	runDir, err := lab.NewRunDir(runs, "ticketflow", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serve, serveEnv := placeholder.Command()
	l, err := lab.Start(t.Context(), lab.Config{
		System:   "ticketflow",
		Services: services,
		Broker:   broker.External{AMQPURL: b.AMQPURL, ManagementURL: b.ManagementURL},
		Ports:    lab.PortsRandom,
		RunDir:   runDir,
		Command:  serve,
		Env:      append(serveEnv, env...),
		Seed:     seed,
		Log:      labtest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	hctx, cancel := context.WithTimeout(t.Context(), healthy)
	defer cancel()
	if err := l.WaitHealthy(hctx); err != nil {
		t.Fatal(err)
	}
	return l, b, runs
}

// messageRules reads the rules installed in a service's real message proxy.
func messageRules(t *testing.T, labAPI, id string) []json.RawMessage {
	t.Helper()
	resp, err := http.Get(labAPI + lab.ServicePath(id) + "/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var rules []json.RawMessage
	if err := json.Unmarshal(b, &rules); err != nil {
		t.Fatalf("GET faults: %v: %s", err, b)
	}
	return rules
}

func TestConsoleInBrowser(t *testing.T) {
	tb := openTab(t, 5*time.Minute)
	l, _, runs := browserLab(t, []lab.ServiceSpec{{Name: "tickets"}, {Name: "sla"}}, nil, 7, 30*time.Second)
	env := run.EnvOf(l, labtest.Logger(t))
	c, err := console.New(console.Config{Info: l.Info, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: runs, Management: env.Management, Log: labtest.Logger(t),
		Anomaly: func(a spec.Action) (anomalies.Anomaly, error) { return run.AnomalyOf(a, env) }})
	if err != nil {
		t.Fatal(err)
	}
	base, err := c.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	labAPI := l.Info().LabAPI
	ctx := tb.ctx
	do, text, count := tb.do, tb.text, tb.count

	t.Run("inject a message fault by click, see it, heal it", func(t *testing.T) {
		defer tb.screenshot(t, "inject")
		do(t,
			chromedp.Navigate(base+"/inject?service=tickets"),
			chromedp.Click(chromedp.CSS(`#form-message summary`)),
			chromedp.SetValue(chromedp.CSS(`#message-fault`), "duplicate-delivery"),
			chromedp.Click(chromedp.CSS(`#inject-message`)),
		)
		if done := text(t, `#done-message`); !strings.Contains(done, "duplicate-delivery in front of tickets") {
			t.Fatalf("confirmation %q", done)
		}
		do(t, chromedp.WaitVisible(chromedp.CSS(`#fault-console-message-1`)))
		if rules := messageRules(t, labAPI, "tickets"); len(rules) != 1 || !strings.Contains(string(rules[0]), "duplicate-delivery") {
			t.Fatalf("the proxy's rules after the click: %s", rules)
		}
		do(t, chromedp.Navigate(base+"/topology"))
		if mark := text(t, `#hop-tickets .mark`); !strings.Contains(mark, "console-message-1 duplicate-delivery") {
			t.Fatalf("topology marks the tickets hop with %q", mark)
		}
		if n := count(t, `#hop-sla .mark`); n != 0 {
			t.Fatalf("the sla hop carries %d marks", n)
		}
		// The Cytoscape graph marks the same hop, and only it.
		faulted, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.topologyGraph && window.topologyGraph.$id("mp-tickets").hasClass("faulted")`))
		if err != nil || !faulted {
			t.Fatalf("the graph's tickets message-proxy node is not marked faulted (%v)", err)
		}
		if n := count(t, `#graph canvas`); n == 0 {
			t.Fatal("the topology graph drew no canvas")
		}
		other, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.topologyGraph.$id("mp-sla").hasClass("faulted") || window.topologyGraph.$id("tp-tickets").hasClass("faulted")`))
		if err != nil || other {
			t.Fatalf("the graph marks a hop the fault does not act on (%v)", err)
		}
		tb.screenshot(t, "topology")
		// A click on a hop opens the inject form of the class that acts on it.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`setTimeout(() => window.topologyGraph.$id("tp-tickets").emit("tap"), 0), true`)); err != nil {
			t.Fatal(err)
		}
		do(t, chromedp.WaitVisible(chromedp.CSS(`details#form-network[open] #inject-network`)))
		where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search + location.hash`))
		if err != nil || where != "/inject?service=tickets#form-network" {
			t.Fatalf("a click on the tickets Toxiproxy hop led to %q (%v)", where, err)
		}
		do(t,
			chromedp.Navigate(base+"/inject?service=tickets"),
			chromedp.Click(chromedp.CSS(`#heal-console-message-1`)),
			chromedp.WaitVisible(chromedp.CSS(`#no-faults`)),
		)
		if rules := messageRules(t, labAPI, "tickets"); len(rules) != 0 {
			t.Fatalf("rules left after Heal: %s", rules)
		}
		rec, err := os.ReadFile(filepath.Join(l.RunDir(), "logs", console.FaultsFile))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(rec)), "\n")
		var f history.Fault
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &f); err != nil || f.Name != "console-message-1" || f.Op != "duplicate-delivery" || f.Healed.IsZero() {
			t.Fatalf("fault record %s (%v)", lines[len(lines)-1], err)
		}
	})

	t.Run("a malformed form shows the reason next to the field", func(t *testing.T) {
		defer tb.screenshot(t, "malformed")
		do(t,
			chromedp.Navigate(base+"/inject?service=tickets"),
			chromedp.Click(chromedp.CSS(`#form-message summary`)),
			chromedp.SetValue(chromedp.CSS(`#message-fault`), "reorder"),
			chromedp.SetValue(chromedp.CSS(`#message-window`), "1"),
			chromedp.Click(chromedp.CSS(`#inject-message`)),
		)
		if reason := text(t, `#error-message-window`); !strings.Contains(reason, "window of at least 2") {
			t.Fatalf("reason %q", reason)
		}
		if rules := messageRules(t, labAPI, "tickets"); len(rules) != 0 {
			t.Fatalf("a refused form installed %s", rules)
		}
	})

	t.Run("two concurrent injections are both applied; a down service gets none", func(t *testing.T) {
		postForm := func(path string, form url.Values) (int, string) {
			req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
			if err != nil {
				t.Error(err)
				return 0, ""
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			req.Header.Set("HX-Request", "true")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return 0, ""
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		var wg sync.WaitGroup
		for _, fault := range []string{"duplicate-delivery", "drop-ack"} {
			wg.Go(func() {
				if code, body := postForm("/inject/message", url.Values{"service": {"tickets"}, "fault": {fault}}); code != http.StatusOK {
					t.Errorf("inject %s: %d %s", fault, code, body)
				}
			})
		}
		wg.Wait()
		if rules := messageRules(t, labAPI, "tickets"); len(rules) != 2 {
			t.Fatalf("after two concurrent injections the proxy holds %s", rules)
		}
		if code, body := postForm("/heal-all", nil); code != http.StatusOK || !strings.Contains(body, "no-faults") {
			t.Fatalf("heal all: %d %s", code, body)
		}
		if rules := messageRules(t, labAPI, "tickets"); len(rules) != 0 {
			t.Fatalf("rules left after Heal all: %s", rules)
		}

		if err := l.Supervisor().Kill(t.Context(), "sla"); err != nil {
			t.Fatal(err)
		}
		labtest.Eventually(t, 10*time.Second, func() error {
			if st := lab.ProcessState(l.Info().Services["sla"].PID); st != "exited" {
				return fmt.Errorf("sla is %s", st)
			}
			return nil
		})
		code, body := postForm("/inject/message", url.Values{"service": {"sla"}, "fault": {"drop-ack"}})
		if code != http.StatusConflict || !strings.Contains(body, "service sla is down") {
			t.Fatalf("inject into a killed service: %d %s", code, body)
		}
		if rules := messageRules(t, labAPI, "sla"); len(rules) != 0 {
			t.Fatalf("a fault on a down service was installed: %s", rules)
		}
	})

	t.Run("runs page links each report", func(t *testing.T) {
		past := filepath.Join(runs, "20260101-000000-duplicate-delivery")
		if err := os.MkdirAll(past, 0o755); err != nil {
			t.Fatal(err)
		}
		var jb strings.Builder
		if err := report.WriteJournal(&jb, &report.Journal{SchemaVersion: report.JournalSchemaVersion,
			Scenario: report.ScenarioInfo{Name: "duplicate-delivery"},
			Verdict:  report.Verdict{Outcome: check.OutcomePass, Reason: "every invariant held"}}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(past, "journal.json"), []byte(jb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(past, "report.html"), []byte(`<!doctype html><title>r</title><h1 id="report-title">duplicate-delivery: PASS</h1>`), 0o644); err != nil {
			t.Fatal(err)
		}
		defer tb.screenshot(t, "runs")
		do(t, chromedp.Navigate(base+"/runs"))
		if v := text(t, `#run-20260101-000000-duplicate-delivery .verdict`); v != "PASS" {
			t.Fatalf("verdict %q", v)
		}
		do(t, chromedp.Click(chromedp.CSS(`#run-20260101-000000-duplicate-delivery a.report`)))
		if title := text(t, `#report-title`); title != "duplicate-delivery: PASS" {
			t.Fatalf("report %q", title)
		}
	})

	t.Run("follow a message through a waterfall", func(t *testing.T) {
		synth := filepath.Join(runs, "20260101-000001-synth")
		if _, err := spanfile.Synthesize(synth, 3000, 5); err != nil {
			t.Fatal(err)
		}
		events, _, err := run.ReadSpans(filepath.Join(synth, "traces"))
		if err != nil {
			t.Fatal(err)
		}
		var id string
		for _, e := range events {
			if e.Dedup == history.DedupDuplicate {
				id = e.TraceID.String()
				break
			}
		}
		if id == "" {
			t.Fatal("the synthesized spans hold no dedup skip")
		}
		want := 0
		for _, e := range events {
			if e.TraceID.String() == id {
				want++
			}
		}
		defer tb.screenshot(t, "waterfall")
		do(t,
			chromedp.Navigate(base+"/trace?run=20260101-000001-synth&id="+id),
			chromedp.WaitVisible(chromedp.CSS(`#waterfall .span-row`)),
		)
		if rows, skips := count(t, `#waterfall .span-row`), count(t, `#waterfall .span-row.dedup-skip`); rows != want || skips < 1 {
			t.Fatalf("waterfall has %d rows (want %d) and %d dedup skips", rows, want, skips)
		}
	})

	t.Run("the live page draws the band of an injected fault", func(t *testing.T) {
		defer tb.screenshot(t, "live")
		do(t,
			chromedp.Navigate(base+"/inject?service=tickets"),
			chromedp.Click(chromedp.CSS(`#form-message summary`)),
			chromedp.SetValue(chromedp.CSS(`#message-fault`), "drop-ack"),
			chromedp.Click(chromedp.CSS(`#inject-message`)),
		)
		if done := text(t, `#done-message`); !strings.Contains(done, "drop-ack") {
			t.Fatalf("confirmation %q", done)
		}
		do(t, chromedp.Navigate(base+"/live"))
		tb.until(t, "the drop-ack band drawn on every chart", `(() => {
			const s = window.liveState;
			return !!s && !!s.series && s.series.bands.some(b => b.label.includes("drop-ack tickets") && !b.to) &&
				s.drawn.throughput >= 1 && s.drawn.latency >= 1 && s.drawn.depth >= 1;
		})()`, time.Minute)
		for _, chart := range []string{"throughput", "latency", "depth"} {
			if n := count(t, `#chart-`+chart+` canvas`); n == 0 {
				t.Fatalf("the %s chart drew no canvas", chart)
			}
		}
		tb.screenshot(t, "live-fault")
		// Healed, the band ends: it stays in the window with an end.
		do(t, chromedp.Navigate(base+"/inject"), chromedp.Click(chromedp.CSS(`#heal-all`)), chromedp.WaitVisible(chromedp.CSS(`#no-faults`)),
			chromedp.Navigate(base+"/live"))
		tb.until(t, "the healed band", `(() => {
			const s = window.liveState;
			return !!s && !!s.series && s.series.bands.some(b => b.label.includes("drop-ack tickets") && b.to >= b.from);
		})()`, time.Minute)
	})

	t.Run("open a violation on the live board and land on its waterfall", func(t *testing.T) {
		defer tb.screenshot(t, "board-waterfall")
		src := t.TempDir()
		if _, err := spanfile.Synthesize(src, 3000, 9); err != nil {
			t.Fatal(err)
		}
		// The synthetic traffic joins the lab's span files, as the services' would.
		if err := os.CopyFS(filepath.Join(lab.Layout{Dir: l.RunDir()}.Traces(), "synth"), os.DirFS(filepath.Join(src, "traces"))); err != nil {
			t.Fatal(err)
		}
		do(t, chromedp.Navigate(base+"/live"))
		tb.until(t, "a red invariant with a trace link", `!!document.querySelector("#invariants tr.bad a.trace-link")`, time.Minute)
		tb.screenshot(t, "board")
		id := tb.eval(t, `document.querySelector("#invariants tr.bad a.trace-link").textContent.trim()`)
		do(t, chromedp.Click(chromedp.CSS(`#invariants tr.bad a.trace-link`)), chromedp.WaitVisible(chromedp.CSS(`#waterfall .span-row`)))
		if got := tb.eval(t, `document.getElementById("trace-id").value`); got != id {
			t.Fatalf("landed on the waterfall of %q, clicked %q", got, id)
		}
		if n := count(t, `#waterfall .span-row`); n == 0 {
			t.Fatal("the waterfall has no span")
		}
	})

	t.Run("open a violation in report.html and land on its waterfall", func(t *testing.T) {
		name := "20260101-000002-synth-violations"
		dir := filepath.Join(runs, name)
		if _, err := spanfile.Synthesize(dir, 3000, 13); err != nil {
			t.Fatal(err)
		}
		v, err := run.Verify(dir, run.VerifyOptions{FromSpans: true})
		if err != nil {
			t.Fatal(err)
		}
		h := v.History
		h.Events, h.Table = h.Table.Events(), nil
		var page strings.Builder
		if err := report.WriteHTML(&page, report.Run{History: h, Verdict: v.Verdict, ConsoleTrace: report.ConsoleTraceURL(base, name)}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte(page.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		defer tb.screenshot(t, "report-waterfall")
		do(t, chromedp.Navigate(base+"/runs/"+name+"/report.html"), chromedp.WaitVisible(chromedp.CSS(`tr.violation`)))
		// In the report: its own waterfall of the trace (works offline).
		id := tb.eval(t, `document.querySelector('tr.violation td:nth-child(5) a[href^="#trace-"]').textContent.trim()`)
		do(t, chromedp.Click(chromedp.CSS(`tr.violation td:nth-child(5) a[href^="#trace-"]`)))
		tb.until(t, "the report's waterfall as the target", fmt.Sprintf(`location.hash === "#trace-%s" && document.querySelectorAll(":target .span-row").length > 0`, id), 30*time.Second)
		tb.screenshot(t, "report-anchor")
		// In the console: the follow-a-message page of the run.
		do(t, chromedp.Navigate(base+"/runs/"+name+"/report.html"), chromedp.WaitVisible(chromedp.CSS(`tr.violation`)))
		id = tb.eval(t, `new URL(document.querySelector('tr.violation a[title="follow it in the console"]').href).searchParams.get("id")`)
		do(t, chromedp.Click(chromedp.CSS(`tr.violation a[title="follow it in the console"]`)), chromedp.WaitVisible(chromedp.CSS(`#waterfall .span-row`)))
		if got := tb.eval(t, `document.getElementById("trace-id").value`); got != id {
			t.Fatalf("landed on the waterfall of %q, clicked %q", got, id)
		}
	})
}
