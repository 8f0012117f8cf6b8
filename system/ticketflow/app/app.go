package app

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics"
	"github.com/ticketflow-lab/tflab/tracing"
)

// ScopeName is the instrumentation scope of the command spans.
const ScopeName = "github.com/ticketflow-lab/tflab/system/ticketflow/app"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the runtime's own schema (the app_starts table).
var Migrations = store.EmbeddedMigrations("app", migrationFiles, "migrations")

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

// Runtime is one running Ticketflow service instance: its store, tracing,
// bus, anomaly registry, clock, HTTP server and background loops. Build it
// with New, register handlers, routes and loops, then call Run once.
type Runtime struct {
	cfg         service.Config
	svc         contracts.Service
	set         settings
	idempotency bool
	log         *slog.Logger

	db       *store.DB
	tp       trace.TracerProvider
	tracer   trace.Tracer
	stopTP   func(context.Context) error
	bus      *messaging.Bus
	reg      *anomaly.Registry
	clk      *clock.Real
	topo     contracts.Topology
	syncQ    string
	sampler  metrics.ProcSampler
	inflight sync.Map // *messaging.Delivery -> *execState, from the Before hook to AfterCommit

	ln  net.Listener
	mux *http.ServeMux

	rndMu  sync.Mutex
	rnd    *rand.Rand
	starts int64

	mu      sync.Mutex
	handled map[string][]string // queue -> registered types
	loops   []loop
	running bool

	closeOnce sync.Once
	closeErr  error
}

type loop struct {
	name string
	fn   func(ctx context.Context) error
}

// New opens everything a service needs and registers the runtime's own
// parts; nothing consumes or serves until Run. On error, what was opened is
// closed again. log nil discards.
func New(ctx context.Context, cfg service.Config, log *slog.Logger, spec Spec) (_ *Runtime, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("service config: %w", err)
	}
	if _, ok := contracts.ServiceByName(spec.Service.Name); !ok {
		return nil, fmt.Errorf("unknown Ticketflow service %q", spec.Service.Name)
	}
	if cfg.Name != spec.Service.Name {
		return nil, fmt.Errorf("service config names %q, the spec is for %q", cfg.Name, spec.Service.Name)
	}
	if cfg.DBPath == "" {
		return nil, errors.New("service config: a database path is required")
	}
	set, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{
		cfg: cfg, svc: spec.Service, set: set,
		log:     log.With("service", cfg.Name, "instance", cfg.ID()),
		clk:     clock.NewReal(set.clockOffset),
		handled: map[string][]string{},
		mux:     http.NewServeMux(),
	}
	defer func() {
		if err != nil {
			_ = rt.Close()
		}
	}()

	rt.db, err = store.Open(ctx, store.Config{Path: cfg.DBPath, Log: rt.log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	sets := append([]store.Migrations{messaging.Migrations, Migrations}, spec.Migrations...)
	if err := rt.db.Migrate(ctx, sets...); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := rt.recordStart(ctx); err != nil {
		return nil, err
	}
	rt.rnd = rand.New(rand.NewPCG(uint64(cfg.Seed), mix(cfg.Name, cfg.ID(), rt.starts, "ids")))

	tp, stop, err := tracing.Setup(ctx, tracing.Config{ServiceName: cfg.Name, Instance: cfg.ID(),
		SpanFile: cfg.SpanFile, OTLPEndpoint: set.otlp, Logger: rt.log})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	rt.tp, rt.stopTP, rt.tracer = tp, stop, tp.Tracer(ScopeName)

	rt.topo, err = contracts.ForServiceWith(spec.Service, cfg.ID(), set.variant)
	if err != nil {
		return nil, err
	}
	mc, idem, err := messagingConfig(cfg, set, Topology(rt.topo))
	if err != nil {
		return nil, err
	}
	rt.idempotency = idem
	busRand := rand.New(rand.NewPCG(uint64(cfg.Seed), mix(cfg.Name, cfg.ID(), rt.starts, "bus")))
	rt.bus, err = messaging.New(mc, rt.db, messaging.WithTracerProvider(tp), messaging.WithLogger(rt.log),
		messaging.WithRand(busRand), messaging.WithHooks(messaging.Hooks{
			BeforeAck:         func(_ context.Context, d *messaging.Delivery) { rt.inflight.Delete(d) },
			AfterRelayPublish: func(ctx context.Context, m messaging.Message) error { return rt.afterRelayPublish(ctx, m) },
			DeadLettered:      rt.deadLettered,
		}))
	if err != nil {
		return nil, err
	}
	for _, c := range rt.topo.Consumers {
		rt.bus.Consume(c.Queue, messaging.ConsumerConfig{Prefetch: c.Prefetch})
	}
	rt.reg = anomaly.NewRegistry(rt.log)
	rt.syncQ = contracts.AnomaliesSyncQueue(spec.Service.AppName, cfg.ID())
	rt.bus.Consume(rt.syncQ, messaging.ConsumerConfig{Prefetch: contracts.DefaultPrefetch, Concurrency: 1})
	rt.bus.Handle(rt.syncQ, contracts.TypeAnomalyEventWrapper, rt.applySync)
	rt.handled[rt.syncQ] = []string{contracts.TypeAnomalyEventWrapper}

	rt.ln, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.HTTPAddr, err)
	}
	rt.routes()
	return rt, nil
}

// recordStart counts this process start in app_starts.
func (rt *Runtime) recordStart(ctx context.Context) error {
	return rt.db.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(n), 0) + 1 FROM app_starts`).Scan(&rt.starts); err != nil {
			return fmt.Errorf("count starts: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO app_starts (n, started_at, pid) VALUES (?, ?, ?)`,
			rt.starts, time.Now().UTC().Format(time.RFC3339Nano), os.Getpid())
		return err
	})
}

// mix hashes the parts into a PCG stream selector.
func mix(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprint(h, p, "\x00")
	}
	return h.Sum64()
}

// Config is the process config the runtime was built from.
func (rt *Runtime) Config() service.Config { return rt.cfg }

// Service is the Ticketflow service this runtime runs.
func (rt *Runtime) Service() contracts.Service { return rt.svc }

// Log is the service's logger (scoped with service and instance).
func (rt *Runtime) Log() *slog.Logger { return rt.log }

// DB is the service's store (messaging, runtime and service migrations
// applied). Do writes of a handling through its Tx, of a command through Exec.
func (rt *Runtime) DB() *store.DB { return rt.db }

// Bus is the service's messaging bus.
func (rt *Runtime) Bus() *messaging.Bus { return rt.bus }

// Anomalies is the instance's in-app anomaly registry.
func (rt *Runtime) Anomalies() *anomaly.Registry { return rt.reg }

// Clock is the service's clock (offset settable with POST /lab/clock).
func (rt *Runtime) Clock() clock.Clock { return rt.clk }

// TracerProvider is the process's provider (span file, optional OTLP).
func (rt *Runtime) TracerProvider() trace.TracerProvider { return rt.tp }

// Topology is what this instance declares and consumes.
func (rt *Runtime) Topology() contracts.Topology { return rt.topo }

// Variant is the lesson variant of the topology the lab runs (settings
// translation-v1, sla-queues, ...; the same on every service).
func (rt *Runtime) Variant() contracts.Variant { return rt.set.variant }

// Idempotency reports whether the service-level "idempotency" protection
// (idempotent side effects) is on; --unprotect idempotency turns it off.
func (rt *Runtime) Idempotency() bool { return rt.idempotency }

// Setting returns a raw service setting.
func (rt *Runtime) Setting(key string) (string, bool) {
	v, ok := rt.cfg.Settings[key]
	return v, ok
}

// Duration returns a duration setting, def when absent; a malformed or
// negative value is an error naming the key.
func (rt *Runtime) Duration(key string, def time.Duration) (time.Duration, error) {
	d := def
	if err := parseDuration(rt.cfg.Settings, key, &d); err != nil {
		return 0, err
	}
	return d, nil
}

// NewID returns a UUIDv4-formatted id from the instance's seeded source
// (run seed, service, instance and the start count of this process), safe
// for concurrent use. Use it for entity ids; message ids come from it too.
func (rt *Runtime) NewID() string {
	rt.rndMu.Lock()
	a, b := rt.rnd.Uint64(), rt.rnd.Uint64()
	rt.rndMu.Unlock()
	a = a&^(0xf<<12) | 0x4<<12 // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant 10
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// Rand returns a new seeded source for one component (name separates the
// streams). It is not safe for concurrent use; give each goroutine its own.
func (rt *Runtime) Rand(name string) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(rt.cfg.Seed), mix(rt.cfg.Name, rt.cfg.ID(), rt.starts, name)))
}

// Addr is the HTTP listen address (useful with port 0).
func (rt *Runtime) Addr() string { return rt.ln.Addr().String() }

// HandleHTTP mounts h on the service's mux (Go 1.22 patterns, e.g.
// "GET /tickets/{id}"). Call before Run.
func (rt *Runtime) HandleHTTP(pattern string, h http.Handler) { rt.mux.Handle(pattern, h) }

// HandleFunc mounts f on the service's mux. Call before Run.
func (rt *Runtime) HandleFunc(pattern string, f http.HandlerFunc) { rt.mux.HandleFunc(pattern, f) }

// Mux is the service's mux, for domain packages that Register their routes.
func (rt *Runtime) Mux() *http.ServeMux { return rt.mux }

// Handler is what Run serves: the mux behind the CORS policy and the
// incoming trace context (a request's traceparent becomes the parent of the
// spans its handler starts, e.g. Exec's command span).
func (rt *Runtime) Handler() http.Handler { return cors(traceContext(rt.mux)) }

// Go adds a background loop that Run starts and stops with the service.
// fn must return when ctx ends; a return with an error (other than ctx's)
// stops the service with that error. Call before Run.
func (rt *Runtime) Go(name string, fn func(ctx context.Context) error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.loops = append(rt.loops, loop{name, fn})
}

// checkHandlers verifies that every type this service's queues accept has a
// handler: an unhandled accepted type would be acked and dropped silently.
func (rt *Runtime) checkHandlers() error {
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

// Run starts the bus (consumers, relay), the HTTP server, the metrics
// ticks and the registered loops, and blocks until ctx ends or a part
// fails. Shutdown is graceful (HTTP drained, in-flight handlings settled),
// then the store and tracing are closed. It returns nil after a clean stop.
func (rt *Runtime) Run(ctx context.Context) error {
	defer rt.Close()
	rt.mu.Lock()
	if rt.running {
		rt.mu.Unlock()
		return errors.New("app: Run called twice")
	}
	rt.running = true
	loops := slices.Clone(rt.loops)
	err := rt.checkHandlers()
	rt.mu.Unlock()
	if err != nil {
		return fmt.Errorf("app %s: %w", rt.cfg.Name, err)
	}
	if rt.set.metricsInterval > 0 {
		loops = append(loops, loop{"metrics", rt.reportMetrics})
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := rt.bus.Run(gctx); err != nil {
			return fmt.Errorf("messaging: %w", err)
		}
		return nil
	})
	srv := &http.Server{Handler: rt.Handler(), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	g.Go(func() error {
		if err := srv.Serve(rt.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.set.shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			rt.log.Warn("HTTP shutdown incomplete", "err", err)
			_ = srv.Close()
		}
		return nil
	})
	for _, l := range loops {
		g.Go(func() error {
			err := l.fn(gctx)
			if err == nil || gctx.Err() != nil && errors.Is(err, gctx.Err()) {
				return nil
			}
			return fmt.Errorf("loop %s: %w", l.name, err)
		})
	}
	rt.log.Info("Service started", "http", rt.Addr(), "app", rt.svc.AppName, "protections", rt.bus.Protections().String(),
		"idempotency", rt.idempotency, "seed", rt.cfg.Seed, "start", rt.starts, "pid", os.Getpid())
	err = g.Wait()
	if err != nil {
		rt.log.Error("Service failed", "err", err)
		return err
	}
	rt.log.Info("Service stopped")
	return nil
}

// Close releases what New opened (listener, store, tracing). Run calls it;
// call it yourself only when Run is never called. It is idempotent.
func (rt *Runtime) Close() error {
	rt.closeOnce.Do(func() {
		var errs []error
		if rt.ln != nil {
			if err := rt.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		if rt.db != nil {
			errs = append(errs, rt.db.Close())
		}
		if rt.stopTP != nil {
			ctx, cancel := context.WithTimeout(context.Background(), rt.set.shutdownTimeout)
			errs = append(errs, rt.stopTP(ctx))
			cancel()
		}
		rt.closeErr = errors.Join(errs...)
	})
	return rt.closeErr
}

// Broadcast publishes an anomaly change to every instance of this service
// (anomalies-sync, routing key = AppName), directly and outside the outbox,
// as the original did; the OutboxErrorOnPublish point runs after the publish.
func (rt *Runtime) Broadcast(ctx context.Context, change contracts.AnomalyEventWrapper) error {
	msg, route, err := rt.envelope(change)
	if err != nil {
		return err
	}
	if err := rt.bus.Publisher().Publish(ctx, route, msg); err != nil {
		return fmt.Errorf("publish anomaly change: %w", err)
	}
	return rt.reg.Check(anomaly.Publish, contracts.TypeAnomalyEventWrapper, "").Apply(ctx, rt.clk)
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
		rt.log.Warn("Anomaly sync message rejected", "msg_id", d.ID, "err", err)
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
	build := func(now time.Time) contracts.MetricTick {
		s, err := rt.sampler.Sample()
		if err != nil {
			rt.log.Debug("Process sample failed", "err", err)
		}
		st := rt.bus.Stats()
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		depths, err := rt.bus.QueueDepths(dctx, queues)
		cancel()
		if err != nil && ctx.Err() == nil {
			rt.log.Debug("Queue depths incomplete", "err", err)
		}
		qs := make([]contracts.QueueDepth, len(depths))
		for i, d := range depths {
			qs[i] = contracts.QueueDepth{Name: d.Name, Depth: d.Ready}
		}
		return metrics.Tick(rt.svc.AppName, rt.cfg.ID(), now, s,
			contracts.MessageStats{Handled: st.Handled, Failed: st.HandlerErrors}, qs)
	}
	sink := func(ctx context.Context, t contracts.MetricTick) error {
		msg, route, err := rt.envelope(t)
		if err != nil {
			return err
		}
		return rt.bus.Publisher().Publish(ctx, route, msg)
	}
	onErr := func(err error) {
		if ctx.Err() == nil {
			rt.log.Debug("Metric tick not published", "err", err)
		}
	}
	return metrics.Report(ctx, rt.clk, rt.set.metricsInterval, build, sink, onErr)
}
