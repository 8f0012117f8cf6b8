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

// browser starts headless Chromium; every action runs under ctx's deadline.
func browser(t *testing.T, path string) context.Context {
	return browserWithin(t, path, 120*time.Second)
}

// browserWithin starts headless Chromium; every action runs under a
// deadline of d from now.
func browserWithin(t *testing.T, path string, d time.Duration) context.Context {
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
	ctx, cancelC := context.WithTimeout(bctx, d)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
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
	chrome := chromium(t)
	b := labtest.SharedBroker(t)
	runs := filepath.Join(t.TempDir(), "runs")
	runDir, err := lab.NewRunDir(runs, "ticketflow", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	serve, serveEnv := placeholder.Command()
	l, err := lab.Start(t.Context(), lab.Config{
		System:   "ticketflow",
		Services: []lab.ServiceSpec{{Name: "tickets"}, {Name: "sla"}},
		Broker:   broker.External{AMQPURL: b.AMQPURL, ManagementURL: b.ManagementURL},
		Ports:    lab.PortsRandom,
		RunDir:   runDir,
		Command:  serve,
		Env:      serveEnv,
		Seed:     7,
		Log:      labtest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop(context.Background())
	hctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := l.WaitHealthy(hctx); err != nil {
		t.Fatal(err)
	}
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
	ctx := browser(t, chrome)

	// do runs void steps; text waits for sel to be visible and reads it.
	do := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		do(t, chromedp.WaitVisible(chromedp.CSS(sel)))
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	count := func(t *testing.T, sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("inject a message fault by click, see it, heal it", func(t *testing.T) {
		defer screenshot(t, ctx, "inject")
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
		screenshot(t, ctx, "topology")
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
		defer screenshot(t, ctx, "malformed")
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
		defer screenshot(t, ctx, "runs")
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
		defer screenshot(t, ctx, "waterfall")
		do(t,
			chromedp.Navigate(base+"/trace?run=20260101-000001-synth&id="+id),
			chromedp.WaitVisible(chromedp.CSS(`#waterfall .span-row`)),
		)
		if rows, skips := count(t, `#waterfall .span-row`), count(t, `#waterfall .span-row.dedup-skip`); rows != want || skips < 1 {
			t.Fatalf("waterfall has %d rows (want %d) and %d dedup skips", rows, want, skips)
		}
	})
}
