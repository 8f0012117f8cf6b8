package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

// runnerScript stands in for `tflab run NAME --out ROOT`: it names its run
// directory as tflab run does, prints a progress line, waits for the file
// gate (if set), writes a journal and a report, and exits with code.
func runnerScript(t *testing.T, gate string, code int) []string {
	t.Helper()
	var jb strings.Builder
	if err := report.WriteJournal(&jb, &report.Journal{SchemaVersion: report.JournalSchemaVersion,
		Scenario: report.ScenarioInfo{Name: "quickstart"},
		Verdict:  report.Verdict{Outcome: check.OutcomePass, Reason: "every invariant held"}}); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(t.TempDir(), "journal.json")
	if err := os.WriteFile(journal, []byte(jb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`dir="$3/20260101-000000-$1"; mkdir -p "$dir"
echo "Running scenario $1 (seed 1) in $dir" >&2
echo "t=1s handled 10 msg" >&2
while [ -n %q ] && [ ! -e %q ]; do sleep 0.05; done
cp %q "$dir/journal.json"; echo '<h1>report</h1>' > "$dir/report.html"
exit %d`, gate, gate, journal, code)
	return []string{"sh", "-c", script, "sh"}
}

func scenarioConsole(t *testing.T, run []string) (*Console, string) {
	t.Helper()
	root := t.TempDir()
	c, err := New(Config{Info: func() lab.Info { return lab.Info{System: "ticketflow"} }, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: root, RunCommand: run})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, root
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000"+path, nil))
	return rec
}

func TestScenariosPageListsTheCatalog(t *testing.T) {
	c, _ := scenarioConsole(t, nil)
	rec := get(c.Handler(), "/scenarios")
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `id="scenario-quickstart"`) || !strings.Contains(body, `id="scenario-duplicate-delivery-storm"`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
	if strings.Contains(body, `class="start"`) {
		t.Fatal("a console without a run command offers Start")
	}
	if rec := post(c.Handler(), "/scenarios/quickstart/start", nil, sameSite); rec.Code != http.StatusNotImplemented {
		t.Fatalf("start without a run command: %d", rec.Code)
	}
}

func TestScenarioRunShowsProgressThenVerdict(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	c, _ := scenarioConsole(t, runnerScript(t, gate, 0))
	h := c.Handler()
	if rec := post(h, "/scenarios/no-such-thing/start", nil, sameSite); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown scenario: %d %s", rec.Code, rec.Body)
	}
	if rec := post(h, "/scenarios/quickstart/start", nil, sameSite); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "quickstart") {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	labtestEventually(t, 30*time.Second, func() bool {
		return strings.Contains(get(h, "/scenarios/job").Body.String(), "t=1s handled 10 msg")
	})
	if rec := post(h, "/scenarios/reorder-window/start", nil, sameSite); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "a run of quickstart is under way") {
		t.Fatalf("a second start while one runs: %d %s", rec.Code, rec.Body)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var body string
	labtestEventually(t, 30*time.Second, func() bool {
		body = get(h, "/scenarios/job").Body.String()
		return strings.Contains(body, `id="job-verdict"`)
	})
	if !strings.Contains(body, `<span class="verdict PASS" id="job-verdict">PASS</span>`) ||
		!strings.Contains(body, `href="/runs/20260101-000000-quickstart/report.html"`) {
		t.Fatalf("finished job: %s", body)
	}
	if rec := get(h, "/runs/20260101-000000-quickstart/report.html"); !strings.Contains(rec.Body.String(), "report") {
		t.Fatalf("the report link: %d %s", rec.Code, rec.Body)
	}
}

func TestScenarioRunWithoutVerdictIsAnError(t *testing.T) {
	c, _ := scenarioConsole(t, []string{"sh", "-c", `echo "cannot start a broker" >&2; exit 3`, "sh"})
	h := c.Handler()
	if rec := post(h, "/scenarios/quickstart/start?control=true", nil, sameSite); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "(negative control)") {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	var body string
	labtestEventually(t, 30*time.Second, func() bool {
		body = get(h, "/scenarios/job").Body.String()
		return strings.Contains(body, `id="job-verdict"`)
	})
	if !strings.Contains(body, ">ERROR<") || !strings.Contains(body, "exit 3") {
		t.Fatalf("finished job: %s", body)
	}
}

func TestCloseStopsARunningScenario(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "never")
	c, _ := scenarioConsole(t, runnerScript(t, gate, 0))
	if rec := post(c.Handler(), "/scenarios/quickstart/start", nil, sameSite); rec.Code != http.StatusOK {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v := c.currentJob(); v == nil || !v.Done {
		t.Fatalf("after Close the job is %+v", v)
	}
}

// A started console passes its URL to the run, so that the run's report
// links its violations to this console's waterfalls.
func TestScenarioRunGetsTheConsolesURL(t *testing.T) {
	c, root := scenarioConsole(t, []string{"sh", "-c", `echo "args $*" >&2; exit 3`, "sh"})
	base, err := c.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(c.Handler(), "/scenarios/quickstart/start", nil, sameSite); rec.Code != http.StatusOK {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	labtestEventually(t, 30*time.Second, func() bool {
		v := c.currentJob()
		return v != nil && v.Done
	})
	progress := c.currentJob().Progress
	if want := "args quickstart --out " + root + " --console-url " + base; progress != want {
		t.Fatalf("the run's arguments: %q, want %q", progress, want)
	}
}
