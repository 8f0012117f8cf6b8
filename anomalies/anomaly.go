package anomalies

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Anomaly is one fault the lab can inject into a running system.
type Anomaly interface {
	// Name is a stable what-where name ("latency-tickets-downstream",
	// "kill-communication") for logs and reports.
	Name() string
	// Inject installs the fault and returns once it is in place. On error
	// nothing of it stays installed: a partly applied fault is healed before
	// Inject returns. On success the caller must call the Healer's Heal
	// exactly once, also on Ctrl-C and errors (see HealContext); an instant
	// anomaly (restart, close-connections) returns Nothing. Inject is safe
	// to call from any goroutine; one value is injected at most once at a time.
	Inject(ctx context.Context) (Healer, error)
}

// Healer undoes one injected fault.
type Healer interface {
	// Heal removes the fault and records its evidence. It is bounded by ctx
	// and safe to call after ctx's parent was cancelled (pass a HealContext).
	Heal(ctx context.Context) error
}

// HealFunc adapts a function to Healer.
type HealFunc func(ctx context.Context) error

// Heal calls f.
func (f HealFunc) Heal(ctx context.Context) error { return f(ctx) }

// Nothing is the Healer of an instant anomaly: there is nothing to undo.
// It is comparable (h == Nothing tells an instant injection apart).
var Nothing Healer = nothing{}

type nothing struct{}

func (nothing) Heal(context.Context) error { return nil }

// DefaultHealTimeout bounds one heal. Restarting a broker application or a
// service process takes a few seconds; anything slower is reported as a heal
// error rather than waited for.
const DefaultHealTimeout = 30 * time.Second

// SlowHealer is an Anomaly whose heal needs longer than DefaultHealTimeout
// (a cluster that must become whole again).
type SlowHealer interface {
	HealTimeout() time.Duration
}

// Resolver is an Anomaly whose target is chosen when it is injected (a
// cluster fault on the node leading a queue). Resolved reports the choice
// as step parameters for the history ("node": "2"); nil before it is made.
type Resolver interface {
	Resolved() map[string]string
}

// HealTimeoutOf is timeout, raised to a's own HealTimeout when a is a
// SlowHealer that needs longer.
func HealTimeoutOf(a Anomaly, timeout time.Duration) time.Duration {
	if s, ok := a.(SlowHealer); ok && s.HealTimeout() > timeout {
		return s.HealTimeout()
	}
	return timeout
}

// HealContext returns the context a heal runs on: it keeps parent's values
// but not its cancellation (so Ctrl-C never leaves a fault installed) and
// ends after timeout (DefaultHealTimeout when 0).
func HealContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = DefaultHealTimeout
	}
	return context.WithTimeout(context.WithoutCancel(parent), timeout)
}

// healNow heals h at once on a HealContext; it is used to undo a partly
// applied fault before Inject returns its error.
func healNow(ctx context.Context, h Healer) error {
	hctx, cancel := HealContext(ctx, 0)
	defer cancel()
	return h.Heal(hctx)
}

// Evidence counters the executors record (names from the scenario history's
// counter catalog; a test in scenarios/run keeps them in step).
const (
	CounterBytesCut           = "network.bytes-cut"
	CounterBrokerAlarms       = "broker.alarms"
	CounterConnectionsClosed  = "broker.connections-closed"
	CounterConnectionsBlocked = "connections.blocked"
	CounterClockOffsetMaxMs   = "clock.offset.max-ms"
	CounterInAppFired         = "inapp.fired"
	CounterProcessesKilled    = "processes.killed"
	CounterProcessesPaused    = "processes.paused"

	CounterClusterPartitions     = "cluster.partitions"
	CounterClusterPacketsDropped = "cluster.packets-dropped"
	CounterClusterNodesKilled    = "cluster.nodes-killed"
	CounterClusterNodesPaused    = "cluster.nodes-paused"
)

// Evidence collects the counters that prove faults took effect. The zero
// value is not usable; a nil *Evidence discards everything. It is safe for
// concurrent use.
type Evidence struct {
	mu sync.Mutex
	m  map[string]float64
}

// NewEvidence returns an empty collection.
func NewEvidence() *Evidence { return &Evidence{m: map[string]float64{}} }

// Add adds delta to a counter (creating it at 0: a recorded 0 says "looked,
// saw nothing", which differs from a counter never recorded).
func (e *Evidence) Add(name string, delta float64) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[name] += delta
}

// Max raises a counter to v if v is larger (creating it at v).
func (e *Evidence) Max(name string, v float64) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.m[name]; !ok || v > old {
		e.m[name] = v
	}
}

// Counters returns a copy of the counters.
func (e *Evidence) Counters() map[string]float64 {
	if e == nil {
		return map[string]float64{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.m)
}

// Instance is one service instance of the lab as the executors see it.
type Instance struct {
	Service string // "tickets"
	ID      string // instance id: "tickets", "tickets-2"; the supervisor's name
	Number  int    // 1, 2, …
	HTTP    string // base URL of its HTTP API
	Proxy   string // name of its Toxiproxy proxy ("tickets-amqp")
}

// Processes controls the service processes by instance id.
// *supervisor.Supervisor implements it.
type Processes interface {
	Kill(ctx context.Context, name string) error
	Pause(name string) error
	Resume(name string) error
	Restart(ctx context.Context, name string) (int, error)
}

// Node is a broker node that rabbitmqctl can reach. *rabbitnode.Node
// implements it.
type Node interface {
	Name() string
	Ctl(ctx context.Context, args ...string) (string, error)
}

// Env is the lab as the executors reach it: only through Toxiproxy's API,
// the services' HTTP APIs, process signals, rabbitmqctl and the broker's
// management API. Fields an executor does not need may stay empty; it then
// fails with an error naming what is missing.
type Env struct {
	// Toxiproxy is the Toxiproxy API base URL ("http://127.0.0.1:8474").
	Toxiproxy string
	// LabAPI is the lab control API base URL; message faults install rules
	// in each instance's message proxy under /services/<id>/faults.
	LabAPI string
	// Instances lists every service instance.
	Instances []Instance
	// Processes signals the service processes.
	Processes Processes
	// Nodes are the broker's nodes, the first the primary (empty for an
	// external broker: node faults are then unavailable).
	Nodes []Node
	// ClusterNodes are the nodes of a private cluster in order (node 1
	// first), for the cluster faults; empty otherwise.
	ClusterNodes []ClusterNode
	// Cuts is the lab's nftables table the cluster faults cut nodes apart
	// in (nil: cuts unavailable).
	Cuts Cuts
	// Management is the broker's management API (nil when unknown).
	Management *Management
	// HTTP is the client for Toxiproxy and the services (nil: a client with
	// a 15 s timeout).
	HTTP *http.Client
	// Evidence receives the counters (nil discards).
	Evidence *Evidence
	// Log receives "Injecting anomaly" / "Anomaly healed" events (nil discards).
	Log *slog.Logger
}

// defaultHTTP waits longer than a service takes to give up broadcasting an
// anomaly change while the broker is out of reach (10 s).
var defaultHTTP = &http.Client{Timeout: 15 * time.Second}

func (e *Env) http() *http.Client {
	if e.HTTP != nil {
		return e.HTTP
	}
	return defaultHTTP
}

func (e *Env) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// instances returns the instances of service (number 0 = all of them), or an
// error naming the known services.
func (e *Env) instances(service string, number int) ([]Instance, error) {
	var out []Instance
	known := map[string]bool{}
	for _, in := range e.Instances {
		known[in.Service] = true
		if in.Service == service && (number == 0 || in.Number == number) {
			out = append(out, in)
		}
	}
	if len(out) == 0 {
		if known[service] {
			return nil, fmt.Errorf("service %s has no instance %d", service, number)
		}
		return nil, fmt.Errorf("no service %q in the lab (have %s)", service, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
	}
	return out, nil
}
