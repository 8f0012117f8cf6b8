package jaeger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/internal/freeport"
	"github.com/ticketflow-lab/tflab/internal/httpget"
	"github.com/ticketflow-lab/tflab/internal/supervisor"
)

// ErrNotBuilt reports that no Jaeger binary was found.
var ErrNotBuilt = errors.New("jaeger all-in-one not found (build it with 'make jaeger', into bin/jaeger)")

// Fixed ports: Jaeger's usual OTLP/HTTP and query ports.
const (
	FixedOTLPPort  = 4318
	FixedQueryPort = 16686
)

// Config says how to start Jaeger.
type Config struct {
	// Binary is the all-in-one executable (see Locate).
	Binary string
	// Dir receives jaeger.yaml and jaeger.log.
	Dir string
	// OTLPPort and QueryPort are loopback ports; 0 picks free ones.
	OTLPPort, QueryPort int
	// ReadyTimeout bounds the wait for the query API (default 60 s).
	ReadyTimeout time.Duration
	Log          *slog.Logger
}

// Locate returns the Jaeger binary: "jaeger" beside the tflab executable
// (bin/), then bin/jaeger under the working directory, then jaeger on PATH.
func Locate(exeDir string) (string, error) {
	for _, p := range []string{filepath.Join(exeDir, "jaeger"), filepath.Join("bin", "jaeger")} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return filepath.Abs(p)
		}
	}
	if p, err := exec.LookPath("jaeger"); err == nil {
		return p, nil
	}
	return "", ErrNotBuilt
}

// Jaeger is a running all-in-one.
type Jaeger struct {
	sup    *supervisor.Supervisor
	otlp   string
	query  string
	pid    int
	exited <-chan struct{}
}

const procName = "jaeger"

// Start writes the config, starts Jaeger and waits until its query API
// answers. On error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Jaeger, error) {
	if cfg.Binary == "" {
		return nil, ErrNotBuilt
	}
	if cfg.Dir == "" {
		return nil, errors.New("jaeger: config dir must be set")
	}
	// Jaeger runs in Dir and reads its config by path: a relative Dir (a
	// run directory under runs/) would be resolved twice.
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("jaeger: %w", err)
	}
	cfg.Dir = dir
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ports := []*int{&cfg.OTLPPort, &cfg.QueryPort}
	var grpcPort int
	ports = append(ports, &grpcPort)
	for _, p := range ports {
		if *p != 0 {
			continue
		}
		v, err := freeport.Get()
		if err != nil {
			return nil, fmt.Errorf("jaeger: free port: %w", err)
		}
		*p = v
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jaeger: %w", err)
	}
	cfgPath := filepath.Join(cfg.Dir, "jaeger.yaml")
	if err := os.WriteFile(cfgPath, []byte(renderConfig(cfg.OTLPPort, cfg.QueryPort, grpcPort)), 0o644); err != nil {
		return nil, fmt.Errorf("jaeger: write config: %w", err)
	}
	sup := supervisor.New(supervisor.Options{StopGrace: 5 * time.Second, Log: log})
	pid, err := sup.Start(supervisor.Spec{Name: procName, Path: cfg.Binary, Args: []string{"--config", "file:" + cfgPath},
		Dir: cfg.Dir, LogFile: filepath.Join(cfg.Dir, "jaeger.log")})
	if err != nil {
		return nil, fmt.Errorf("jaeger: start %s: %w", cfg.Binary, err)
	}
	exited, err := sup.Exited(procName)
	if err != nil {
		return nil, err
	}
	j := &Jaeger{sup: sup, pid: pid, exited: exited,
		otlp:  "http://127.0.0.1:" + strconv.Itoa(cfg.OTLPPort),
		query: "http://127.0.0.1:" + strconv.Itoa(cfg.QueryPort)}
	wait := cfg.ReadyTimeout
	if wait <= 0 {
		wait = 60 * time.Second
	}
	if err := j.waitReady(ctx, wait); err != nil {
		return nil, errors.Join(fmt.Errorf("jaeger: not ready (log %s): %w", filepath.Join(cfg.Dir, "jaeger.log"), err), j.Stop(context.WithoutCancel(ctx)))
	}
	log.Info("Jaeger started", "otlp", j.otlp, "query", j.query, "pid", pid)
	return j, nil
}

func (j *Jaeger) waitReady(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := j.Services(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-j.exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// OTLPEndpoint is the OTLP/HTTP base URL (for OTEL_EXPORTER_OTLP_ENDPOINT).
func (j *Jaeger) OTLPEndpoint() string { return j.otlp }

// QueryURL is the query API's base URL.
func (j *Jaeger) QueryURL() string { return j.query }

// PID is the Jaeger process id.
func (j *Jaeger) PID() int { return j.pid }

// Stop sends SIGTERM, then SIGKILL after the grace period. It is safe to
// call more than once.
func (j *Jaeger) Stop(ctx context.Context) error {
	if err := j.sup.Stop(ctx, procName); err != nil {
		return fmt.Errorf("jaeger: stop: %w", err)
	}
	return nil
}

// Services lists the service names Jaeger holds spans of.
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	return Services(ctx, j.query)
}

// Services lists the service names the Jaeger query API at queryURL holds
// spans of.
func Services(ctx context.Context, queryURL string) ([]string, error) {
	var out struct {
		Data []string `json:"data"`
	}
	if err := get(ctx, queryURL+"/api/services", &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Span is one span as the query API returns it.
type Span struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	ProcessID     string `json:"processID"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
}

// Trace is one trace as the query API returns it; Processes maps a span's
// ProcessID to its service.
type Trace struct {
	TraceID   string `json:"traceID"`
	Spans     []Span `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// Services lists the services whose spans the trace holds, once each.
func (t Trace) Services() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range t.Spans {
		name := t.Processes[s.ProcessID].ServiceName
		if name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// Traces returns up to limit recent traces that hold spans of service.
func Traces(ctx context.Context, queryURL, service string, limit int) ([]Trace, error) {
	q := url.Values{"service": {service}, "limit": {strconv.Itoa(limit)}, "lookback": {"1h"}}
	var out struct {
		Data []Trace `json:"data"`
	}
	if err := get(ctx, queryURL+"/api/traces?"+q.Encode(), &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// GetTrace returns one trace by id.
func GetTrace(ctx context.Context, queryURL, traceID string) (Trace, error) {
	var out struct {
		Data []Trace `json:"data"`
	}
	if err := get(ctx, queryURL+"/api/traces/"+url.PathEscape(traceID), &out); err != nil {
		return Trace{}, err
	}
	if len(out.Data) != 1 {
		return Trace{}, fmt.Errorf("jaeger: trace %s: %d traces returned", traceID, len(out.Data))
	}
	return out.Data[0], nil
}

func get(ctx context.Context, u string, into any) error {
	if err := httpget.Get(ctx, u, 5*time.Second, into); err != nil {
		return fmt.Errorf("jaeger: %w", err)
	}
	return nil
}

// renderConfig is an all-in-one config: OTLP/HTTP in, memory storage and
// the query API (HTTP and gRPC), all on loopback.
func renderConfig(otlp, query, queryGRPC int) string {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, query, queryGRPC, otlp)
}
