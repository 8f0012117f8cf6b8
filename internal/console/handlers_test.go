package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

// fakeAnomaly counts installs and heals.
type fakeAnomaly struct{ installed *atomic.Int32 }

func (f fakeAnomaly) Name() string { return "fake" }
func (f fakeAnomaly) Inject(context.Context) (anomalies.Healer, error) {
	f.installed.Add(1)
	return anomalies.HealFunc(func(context.Context) error { f.installed.Add(-1); return nil }), nil
}

func newTestConsole(t *testing.T, pid int) (*Console, *atomic.Int32) {
	t.Helper()
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(health.Close)
	runDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(runDir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	info := lab.Info{System: "ticketflow", RunDir: runDir, Broker: lab.BrokerInfo{AMQP: "amqp://guest:s3cret@127.0.0.1:5999/"},
		Services: map[string]lab.ServiceInfo{"tickets": {Service: "tickets", Instance: 1, HTTP: health.URL, PID: pid, Proxy: "tickets-amqp"}}}
	var n atomic.Int32
	c, err := New(Config{Info: func() lab.Info { return info }, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: t.TempDir(),
		Anomaly: func(spec.Action) (anomalies.Anomaly, error) { return fakeAnomaly{&n}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

func post(h http.Handler, path string, form url.Values, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7000"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var sameSite = map[string]string{"Origin": "http://127.0.0.1:7000", "HX-Request": "true"}

func TestSameOriginCheck(t *testing.T) {
	c, n := newTestConsole(t, os.Getpid())
	h := c.Handler()
	form := url.Values{"service": {"tickets"}, "fault": {"drop-ack"}}
	for name, hdr := range map[string]map[string]string{
		"no origin":        {},
		"other origin":     {"Origin": "http://evil.example"},
		"other port":       {"Origin": "http://127.0.0.1:7001"},
		"cross-site fetch": {"Sec-Fetch-Site": "cross-site"},
	} {
		if rec := post(h, "/inject/message", form, hdr); rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, rec.Code)
		}
	}
	if n.Load() != 0 {
		t.Fatalf("a refused request installed %d faults", n.Load())
	}
	req := httptest.NewRequest(http.MethodGet, "http://evil.example:7000/inject", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("GET with a foreign Host: %d, want 403 (DNS rebinding)", rec.Code)
	}
	if rec := post(h, "/inject/message", form, map[string]string{"Sec-Fetch-Site": "same-origin", "HX-Request": "true"}); rec.Code != http.StatusOK {
		t.Fatalf("same-origin fetch: %d %s", rec.Code, rec.Body)
	}
	if n.Load() != 1 {
		t.Fatalf("%d faults installed, want 1", n.Load())
	}
}

func TestMalformedFormIs400WithTheField(t *testing.T) {
	c, n := newTestConsole(t, os.Getpid())
	rec := post(c.Handler(), "/inject/message", url.Values{"service": {"tickets"}, "fault": {"reorder"}, "window": {"1"}}, sameSite)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("%d, want 400", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, `id="error-message-window"`) || !strings.Contains(body, "reorder needs a window of at least 2") {
		t.Fatalf("the reason is not next to the window field:\n%s", body)
	}
	if n.Load() != 0 || len(c.reg.list()) != 0 {
		t.Fatal("a refused form installed a fault")
	}
}

func TestInjectIntoADownServiceInstallsNothing(t *testing.T) {
	c, n := newTestConsole(t, 0) // pid 0: exited
	rec := post(c.Handler(), "/inject/message", url.Values{"service": {"tickets"}, "fault": {"drop-ack"}}, sameSite)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "service tickets is down") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if n.Load() != 0 {
		t.Fatal("a fault was installed on a down service")
	}
}

func TestConcurrentInjectionsAreAllListedAndHealed(t *testing.T) {
	c, n := newTestConsole(t, os.Getpid())
	h := c.Handler()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if rec := post(h, "/inject/message", url.Values{"service": {"tickets"}, "fault": {"duplicate-delivery"}}, sameSite); rec.Code != http.StatusOK {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	if got := c.reg.list(); len(got) != 2 || got[0].ID == got[1].ID || n.Load() != 2 {
		t.Fatalf("active %v, installed %d; want two distinct", got, n.Load())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:7000/inject", nil))
	if body := rec.Body.String(); !strings.Contains(body, "console-message-1") || !strings.Contains(body, "console-message-2") || strings.Contains(body, "s3cret") {
		t.Fatalf("inject page lists %d faults, or shows the broker password:\n%s", strings.Count(body, `class="fault"`), body)
	}
	if rec := post(h, "/heal-all", nil, sameSite); rec.Code != http.StatusOK {
		t.Fatalf("heal all: %d", rec.Code)
	}
	if n.Load() != 0 || len(c.reg.list()) != 0 {
		t.Fatalf("after heal all: %d installed", n.Load())
	}
	b, err := os.ReadFile(filepath.Join(c.cfg.Info().RunDir, "logs", FaultsFile))
	if err != nil || strings.Count(string(b), `"healed"`) != 2 || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("fault record (%v):\n%s", err, b)
	}
}

func TestPagesRender(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	for _, p := range []string{"/inject", "/topology", "/topology/view", "/runs", "/trace?id=abc", "/faults", "/static/vendor/htmx.min.js"} {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:7000"+p, nil))
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "s3cret") {
			t.Errorf("GET %s: %d\n%s", p, rec.Code, rec.Body)
		}
	}
}

// "Heal all" is on every page: in the header, and on the inject page next
// to the active faults (once).
func TestHealAllIsAlwaysVisible(t *testing.T) {
	c, _ := newTestConsole(t, os.Getpid())
	for _, p := range []string{"/inject", "/topology", "/live", "/scenarios", "/runs", "/trace?id=abc"} {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:7000"+p, nil))
		if n := strings.Count(rec.Body.String(), `action="/heal-all"`); rec.Code != http.StatusOK || n != 1 {
			t.Errorf("GET %s: %d with %d heal-all forms, want 200 with 1", p, rec.Code, n)
		}
	}
}
