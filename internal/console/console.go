// Package console is the lab's web console: inject a fault by click (forms
// generated from the scenario schema, applied by the runner's executors),
// the lab's topology with queue depths and active faults, the Live page
// (throughput, latency and queue-depth charts with the console's faults as
// bands, sent as Server-Sent Events, and the invariant board: the lab's
// span files tailed and judged by the evaluation `tflab verify` runs, each
// latest finding linked to its waterfall), the scenario catalog with runs
// started from it, the run directories with their verdicts and reports,
// and a follow-a-message waterfall from the span files. For a Ticketflow
// lab it also serves Ticketflow's own three front ends, rendered
// server-side over the services' HTTP APIs: the customer portal (/portal),
// the agent desk (/desk, with the live-metrics widget relaying the
// Server-Sent Events of every Metrics instance, and avatars drawn locally)
// and the admin panel (/admin, in-app anomaly tiles applied to every
// instance of a service).
//
// It serves on loopback only, answers only requests addressed to a loopback
// host name (no DNS rebinding), and takes every state-changing request as a
// POST whose Origin (or Sec-Fetch-Site) says it came from the console's own
// pages. It never shows the broker's credentials. Pages use htmx, uPlot and
// Cytoscape.js, vendored under static/vendor, so the console works offline.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the console needs of a running lab.
type Config struct {
	// Info returns the lab as it is now (lab.Lab.Info).
	Info func() lab.Info
	// Vocabulary is the lab's system's: the fault forms offer its names.
	Vocabulary spec.Vocabulary
	// Vocabularies are every known system's, to read the scenario
	// catalog (nil: only the files of Vocabulary's system are read); the
	// Scenarios page lists the lab's system's scenarios.
	Vocabularies spec.Vocabularies
	// Anomaly returns the executor of an action, as a scenario run builds
	// it (run.AnomalyOf over run.EnvOf).
	Anomaly func(spec.Action) (anomalies.Anomaly, error)
	// Management reads queue depths (nil: the topology shows no queues)
	// and the broker's holdings for the invariant board.
	Management *anomalies.Management
	// InspectionQueues are the system's inspection queues (not its own
	// queues, for the board's holdings).
	InspectionQueues []string
	// RunsRoot is the folder of run directories the runs page lists.
	RunsRoot string
	// Log receives the console's fault log lines (nil discards).
	Log *slog.Logger
	// RunCommand starts a scenario run on the Scenarios page: the command
	// and arguments before the scenario's name, e.g. tflab run (the
	// console adds NAME --out RunsRoot [--control], and --console-url with
	// its own URL once started). Empty: the page lists the catalog but
	// starts nothing.
	RunCommand []string
	// Evaluate judges a history for the Live page's invariant board: the
	// evaluation `tflab verify` runs (nil: check.Evaluate with the
	// vocabulary's invariants).
	Evaluate func(*history.History) check.Verdict
}

// Console is the web console's handler and the faults it injected.
type Console struct {
	cfg   Config
	forms []Form
	tmpl  *template.Template
	reg   *registry
	log   *slog.Logger
	srv   *http.Server
	base  string // the URL Start serves on ("" before)
	// closing ends when Close starts: long-lived streams (the desk's live
	// metrics) end with it, so that shutting down does not wait for them.
	closing context.Context
	close   context.CancelFunc
	jobMu   sync.Mutex
	job     *scenarioJob // the last scenario run started from the Scenarios page
	liveMu  sync.Mutex
	liveSt  *liveState // the Live page's history, read from the lab's span files
}

// New builds a console. Faults it injects are recorded in the lab's run
// directory (FaultsFile under logs/).
func New(cfg Config) (*Console, error) {
	forms, err := Forms(cfg.Vocabulary)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	file := ""
	if dir := cfg.Info().RunDir; dir != "" {
		file = filepath.Join(lab.Layout{Dir: dir}.Logs(), FaultsFile)
	}
	closing, cancel := context.WithCancel(context.Background())
	return &Console{cfg: cfg, forms: forms, tmpl: tmpl, log: log, closing: closing, close: cancel,
		reg: &registry{anomaly: cfg.Anomaly, log: log, file: file, seq: map[string]int{}}}, nil
}

// Start serves the console on addr (host:port, port 0 for a free one); the
// host must be a loopback address. It returns the console's base URL.
func (c *Console) Start(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("console address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("console address %q: the console serves on a loopback address only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("console: %w", err)
	}
	c.srv = &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	c.base = "http://" + ln.Addr().String()
	go func() { _ = c.srv.Serve(ln) }()
	go c.sampleLive()
	return c.base, nil
}

// Close heals every fault the console injected, stops a scenario run it
// started (SIGTERM, then waits for it), then stops serving.
func (c *Console) Close(ctx context.Context) error {
	c.close()
	err := c.reg.healAll(ctx)
	c.jobMu.Lock()
	job := c.job
	c.jobMu.Unlock()
	if job != nil {
		err = errors.Join(err, job.wait(ctx))
	}
	if c.srv != nil {
		err = errors.Join(err, c.srv.Shutdown(ctx))
	}
	return err
}

// Handler is the console's HTTP handler.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inject", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /inject", c.injectPage)
	mux.HandleFunc("POST /inject/{type}", c.inject)
	mux.HandleFunc("GET /faults", c.faultList)
	mux.HandleFunc("POST /faults/{id}/heal", c.heal)
	mux.HandleFunc("POST /heal-all", c.healAll)
	mux.HandleFunc("GET /topology", c.topologyPage)
	mux.HandleFunc("GET /topology/view", c.topologyView)
	mux.HandleFunc("GET /topology/graph.json", c.topologyGraph)
	mux.HandleFunc("GET /runs", c.runsPage)
	mux.HandleFunc("GET /runs/{name}/report.html", c.report)
	mux.HandleFunc("GET /trace", c.tracePage)
	mux.HandleFunc("GET /live", c.livePage)
	mux.HandleFunc("GET /live/stream", c.liveStream)
	mux.HandleFunc("GET /live/board", c.liveBoard)
	c.portalRoutes(mux)
	c.deskRoutes(mux)
	c.adminRoutes(mux)
	c.scenarioRoutes(mux)
	return guard(mux)
}

// guard refuses requests addressed to a non-loopback host name (DNS
// rebinding) and state-changing requests that are not a same-origin POST.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "the console answers on loopback host names only", http.StatusForbidden)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			if err := sameOrigin(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// sameOrigin accepts a POST whose Origin is the console itself; without an
// Origin header, a browser's Sec-Fetch-Site: same-origin. A request with
// neither is refused: a script outside a browser sets Origin.
func sameOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("cross-origin request refused (Origin %s is not %s)", o, r.Host)
		}
		return nil
	}
	if r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return nil
	}
	return errors.New("cross-origin request refused: a POST to the console needs an Origin header naming the console")
}
