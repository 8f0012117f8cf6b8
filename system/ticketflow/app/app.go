package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics"
)

// ScopeName is the instrumentation scope of the command spans.
const ScopeName = "github.com/ticketflow-lab/tflab/system/ticketflow/app"

// Spec declares what a service adds to the runtime before handlers and
// routes are registered.
type Spec struct {
	// Service is the Ticketflow service (contracts.Tickets, ...); cfg.Name
	// must equal its Name.
	Service contracts.Service
	// Migrations are the service's own schema sets, applied after the
	// messaging and runtime sets.
	Migrations []store.Migrations
}

// Runtime is one running Ticketflow service instance: the shared
// runtime.Runtime (store, tracing, bus, clock, HTTP server, loops) with
// Ticketflow's contracts, anomaly registry and anomaly points. Build it with
// New, register handlers, routes and loops, then call Run once.
type Runtime struct {
	*runtime.Runtime

	svc         contracts.Service
	set         settings
	idempotency bool
	tracer      trace.Tracer
	reg         *anomaly.Registry
	topo        contracts.Topology
	syncQ       string
	sampler     metrics.ProcSampler
	inflight    sync.Map // *messaging.Delivery -> *execState, from the Before hook to AfterCommit

	mu      sync.Mutex
	handled map[string][]string // queue -> registered types
}

// New builds the runtime of spec.Service from cfg: the shared runtime with
// the topology of contracts.ForServiceWith (the lesson variant of the
// settings, converted by Topology), the anomaly registry with its sync
// consumer, and the anomaly, health and metrics parts. Nothing consumes or
// serves until Run. log nil discards.
func New(ctx context.Context, cfg service.Config, log *slog.Logger, spec Spec) (*Runtime, error) {
	if _, ok := contracts.ServiceByName(spec.Service.Name); !ok {
		return nil, fmt.Errorf("unknown Ticketflow service %q", spec.Service.Name)
	}
	if cfg.Name != spec.Service.Name {
		return nil, fmt.Errorf("service config names %q, the spec is for %q", cfg.Name, spec.Service.Name)
	}
	set, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	prot, idem, err := protections(cfg)
	if err != nil {
		return nil, err
	}
	topo, err := contracts.ForServiceWith(spec.Service, cfg.ID(), set.variant)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{svc: spec.Service, set: set, idempotency: idem, topo: topo, handled: map[string][]string{},
		reg: anomaly.NewRegistry(log.With("service", cfg.Name, "instance", cfg.ID()))}
	rt.Runtime, err = runtime.New(ctx, cfg, log, runtime.Spec{
		Service:    spec.Service.Name,
		Migrations: spec.Migrations,
		Bus: &runtime.Bus{
			Topology: Topology(topo), Protections: prot, HandlerTimeout: set.handlerTimeout, DirectPublish: set.directPublish,
			Retry: messaging.RetryConfig{Delay: set.retryDelay, MaxAttempts: set.maxAttempts},
			Hooks: messaging.Hooks{
				BeforeAck:         func(_ context.Context, d *messaging.Delivery) { rt.inflight.Delete(d) },
				AfterRelayPublish: func(ctx context.Context, m messaging.Message) error { return rt.afterRelayPublish(ctx, m) },
				DeadLettered:      rt.deadLettered,
			},
		},
		Health:     rt.health,
		Middleware: func(h http.Handler) http.Handler { return runtime.CORS(runtime.TraceContext(h)) },
		JSON:       runtime.JSON{Decode: httpjson.Decode, BadRequest: badRequest, Error: rt.httpError},
		LogAttrs:   []any{"app", spec.Service.AppName, "protections", prot.String(), "idempotency", idem},
	})
	if err != nil {
		return nil, err
	}
	rt.tracer = rt.TracerProvider().Tracer(ScopeName)
	bus := rt.Bus()
	for _, c := range topo.Consumers {
		bus.Consume(c.Queue, messaging.ConsumerConfig{Prefetch: c.Prefetch})
	}
	rt.syncQ = contracts.AnomaliesSyncQueue(spec.Service.AppName, cfg.ID())
	bus.Consume(rt.syncQ, messaging.ConsumerConfig{Prefetch: contracts.DefaultPrefetch, Concurrency: 1})
	bus.Handle(rt.syncQ, contracts.TypeAnomalyEventWrapper, rt.applySync)
	rt.handled[rt.syncQ] = []string{contracts.TypeAnomalyEventWrapper}
	anomaly.NewHandler(rt.reg, rt, rt.Log()).Register(rt.Mux())
	if set.metricsInterval > 0 {
		rt.Go("metrics", rt.reportMetrics)
	}
	return rt, nil
}

// Service is the Ticketflow service this runtime runs.
func (rt *Runtime) Service() contracts.Service { return rt.svc }

// Anomalies is the instance's in-app anomaly registry.
func (rt *Runtime) Anomalies() *anomaly.Registry { return rt.reg }

// Topology is what this instance declares and consumes.
func (rt *Runtime) Topology() contracts.Topology { return rt.topo }

// Variant is the lesson variant of the topology the lab runs (settings
// translation-v1, sla-queues, ...; the same on every service).
func (rt *Runtime) Variant() contracts.Variant { return rt.set.variant }

// Idempotency reports whether the service-level "idempotency" protection
// (idempotent side effects) is on; --unprotect idempotency turns it off.
func (rt *Runtime) Idempotency() bool { return rt.idempotency }

// checkHandlers verifies that every type this service's queues accept has a
// handler: an unhandled accepted type would be acked and dropped silently.
func (rt *Runtime) checkHandlers() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var errs []error
	for _, c := range rt.topo.Consumers {
		got := rt.handled[c.Queue]
		if c.AnyAlert {
			if len(got) == 0 {
				errs = append(errs, fmt.Errorf("queue %s: no handler registered", c.Queue))
			}
			continue
		}
		for _, t := range c.Accepts {
			if !slices.Contains(got, t) {
				errs = append(errs, fmt.Errorf("queue %s: no handler for %s", c.Queue, t))
			}
		}
	}
	return errors.Join(errs...)
}

// Run refuses to start while an accepted type has no handler, then runs
// the shared runtime (runtime.Runtime.Run): bus, HTTP server, metric ticks
// and loops until ctx ends. It returns nil after a clean stop.
func (rt *Runtime) Run(ctx context.Context) error {
	if err := rt.checkHandlers(); err != nil {
		_ = rt.Close()
		return fmt.Errorf("app %s: %w", rt.Config().Name, err)
	}
	return rt.Runtime.Run(ctx)
}

// Broadcast publishes an anomaly change to every instance of this service
// (anomalies-sync, routing key = AppName), directly and outside the outbox,
// as the original did; the OutboxErrorOnPublish point runs after the publish.
func (rt *Runtime) Broadcast(ctx context.Context, change contracts.AnomalyEventWrapper) error {
	msg, route, err := rt.envelope(change)
	if err != nil {
		return err
	}
	if err := rt.Bus().Publisher().Publish(ctx, route, msg); err != nil {
		return fmt.Errorf("publish anomaly change: %w", err)
	}
	return rt.reg.Check(anomaly.Publish, contracts.TypeAnomalyEventWrapper, "").Apply(ctx, rt.Clock())
}

var _ anomaly.Broadcaster = (*Runtime)(nil)

// applySync applies a change another instance (or this one) broadcast.
func (rt *Runtime) applySync(_ context.Context, _ *messaging.Tx, d *messaging.Delivery) error {
	var w contracts.AnomalyEventWrapper
	if err := d.Decode(&w); err != nil {
		return fmt.Errorf("anomaly sync: %w", err)
	}
	if err := rt.reg.ApplySync(w); err != nil {
		// A malformed change will not get better on retry: log and drop it.
		rt.Log().Warn("Anomaly sync message rejected", "msg_id", d.ID, "err", err)
	}
	return nil
}

// reportMetrics publishes a MetricTick every interval to metrics-exchange
// (key metric.<AppName>), directly: a lost tick is harmless. A tick carries
// the ready-message depth of every queue the instance consumes (its
// anomaly-sync queue excepted); a depth the broker did not answer within a
// second is left out.
func (rt *Runtime) reportMetrics(ctx context.Context) error {
	var queues []string
	for _, c := range rt.topo.Consumers {
		if c.Queue != rt.syncQ {
			queues = append(queues, c.Queue)
		}
	}
	bus, log := rt.Bus(), rt.Log()
	build := func(now time.Time) contracts.MetricTick {
		s, err := rt.sampler.Sample()
		if err != nil {
			log.Debug("Process sample failed", "err", err)
		}
		st := bus.Stats()
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		depths, err := bus.QueueDepths(dctx, queues)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Debug("Queue depths incomplete", "err", err)
		}
		qs := make([]contracts.QueueDepth, len(depths))
		for i, d := range depths {
			qs[i] = contracts.QueueDepth{Name: d.Name, Depth: d.Ready}
		}
		return metrics.Tick(rt.svc.AppName, rt.Config().ID(), now, s,
			contracts.MessageStats{Handled: st.Handled, Failed: st.HandlerErrors}, qs)
	}
	sink := func(ctx context.Context, t contracts.MetricTick) error {
		msg, route, err := rt.envelope(t)
		if err != nil {
			return err
		}
		return bus.Publisher().Publish(ctx, route, msg)
	}
	onErr := func(err error) {
		if ctx.Err() == nil {
			log.Debug("Metric tick not published", "err", err)
		}
	}
	return metrics.Report(ctx, rt.Clock(), rt.set.metricsInterval, build, sink, onErr)
}
