package runtime

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/tracing"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the runtime's own schema (the app_starts table). Its
// component name stays "app", the name it had in Ticketflow's runtime, so
// existing stores keep their migration record.
var Migrations = store.EmbeddedMigrations("app", migrationFiles, "migrations")

// Spec is what a system tells the runtime about one of its services: plain
// data and a few functions, nothing looked up by name.
type Spec struct {
	// Service is the service's name; cfg.Name must equal it.
	Service string
	// Migrations are the service's own schema sets, applied after the
	// messaging set (with a Bus) and the runtime's own.
	Migrations []store.Migrations
	// Bus declares the service's messaging; nil for a service that talks
	// to no broker.
	Bus *Bus
	// Health builds the body of GET /health from the runtime's part of it
	// and whether both AMQP connections are open (false without a Bus); nil
	// answers the runtime's part alone. The status code follows base.Status.
	Health func(base Health, amqpConnected bool) any
	// Middleware wraps the mux in what Run serves (CORS, the caller's trace,
	// a session check); nil serves the mux as it is.
	Middleware func(http.Handler) http.Handler
	// JSON is how the runtime's own routes read bodies and answer errors in
	// the system's format; a nil field takes the plain default.
	JSON JSON
	// LogAttrs are added to the "Service started" line.
	LogAttrs []any
}

// Bus is the messaging part of a Spec: the contracts the service declares
// and how its consumers retry.
type Bus struct {
	// Topology is what the service declares (exchanges, queues, bindings).
	Topology messaging.Topology
	// Protections are the messaging protections the service runs with.
	Protections messaging.Protections
	// Retry is the retry path of a failed handling.
	Retry messaging.RetryConfig
	// HandlerTimeout bounds one handling (0: messaging's default).
	HandlerTimeout time.Duration
	// DirectPublish says when a publish leaves with the outbox off
	// (messaging.Config.DirectPublish).
	DirectPublish string
	// Hooks are the bus's hooks (messaging.WithHooks).
	Hooks messaging.Hooks
}

// Runtime is one running service instance: its store, tracing, optional
// bus, clock, HTTP server and background loops. Build it with New, register
// consumers, routes and loops, then call Run once.
type Runtime struct {
	cfg  service.Config
	spec Spec
	set  Settings
	log  *slog.Logger
	json JSON

	db     *store.DB
	tp     trace.TracerProvider
	stopTP func(context.Context) error
	bus    *messaging.Bus
	clk    *clock.Real
	ids    *ids

	ln  net.Listener
	mux *http.ServeMux

	mu      sync.Mutex
	loops   []loop
	running bool

	closeOnce sync.Once
	closeErr  error
}

type loop struct {
	name string
	fn   func(ctx context.Context) error
}

// New opens, in order, the store at cfg.DBPath (migrated), tracing, the
// bus (with spec.Bus) and the HTTP listener, and mounts the runtime's own
// routes; nothing consumes or serves until Run. On error, what was opened
// is closed again. log nil discards.
func New(ctx context.Context, cfg service.Config, log *slog.Logger, spec Spec) (_ *Runtime, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("service config: %w", err)
	}
	if cfg.Name != spec.Service {
		return nil, fmt.Errorf("service config names %q, the spec is for %q", cfg.Name, spec.Service)
	}
	if cfg.DBPath == "" {
		return nil, errors.New("service config: a database path is required")
	}
	set, err := ParseSettings(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{cfg: cfg, spec: spec, set: set, log: log.With("service", cfg.Name, "instance", cfg.ID()),
		json: spec.JSON.orDefault(), clk: clock.NewReal(set.ClockOffset), mux: http.NewServeMux()}
	defer func() {
		if err != nil {
			_ = rt.Close()
		}
	}()

	rt.db, err = store.Open(ctx, store.Config{Path: cfg.DBPath, Log: rt.log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	sets := []store.Migrations{Migrations}
	if spec.Bus != nil {
		sets = append([]store.Migrations{messaging.Migrations}, sets...)
	}
	if err := rt.db.Migrate(ctx, append(sets, spec.Migrations...)...); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if rt.ids, err = recordStart(ctx, rt.db, cfg); err != nil {
		return nil, err
	}

	tp, stop, err := tracing.Setup(ctx, tracing.Config{ServiceName: cfg.Name, Instance: cfg.ID(),
		SpanFile: cfg.SpanFile, OTLPEndpoint: set.OTLPEndpoint, Logger: rt.log})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	rt.tp, rt.stopTP = tp, stop

	if spec.Bus != nil {
		if rt.bus, err = rt.newBus(*spec.Bus); err != nil {
			return nil, err
		}
	}
	rt.ln, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.HTTPAddr, err)
	}
	rt.routes()
	return rt, nil
}

// MessagingConfig is the bus config of cfg's instance for b with the
// runtime's settings s.
func MessagingConfig(cfg service.Config, s Settings, b Bus) messaging.Config {
	return messaging.Config{
		Service: cfg.Name, Instance: cfg.ID(), URL: cfg.AMQPURL, Fallbacks: cfg.AMQPFallbacks,
		QueueType: cfg.QueueType, Topology: b.Topology, Protections: b.Protections,
		Heartbeat: s.Heartbeat, HandlerTimeout: b.HandlerTimeout, DirectPublish: b.DirectPublish,
		Publisher: messaging.PublisherConfig{ConfirmTimeout: s.ConfirmTimeout},
		Outbox:    messaging.OutboxConfig{PollInterval: s.OutboxPoll},
		Retry:     b.Retry,
	}
}

func (rt *Runtime) newBus(b Bus) (*messaging.Bus, error) {
	return messaging.New(MessagingConfig(rt.cfg, rt.set, b), rt.db, messaging.WithTracerProvider(rt.tp),
		messaging.WithLogger(rt.log), messaging.WithRand(rt.Rand("bus")), messaging.WithHooks(b.Hooks))
}

// Config is the process config the runtime was built from.
func (rt *Runtime) Config() service.Config { return rt.cfg }

// Log is the service's logger (scoped with service and instance).
func (rt *Runtime) Log() *slog.Logger { return rt.log }

// DB is the service's store (messaging, runtime and service migrations
// applied).
func (rt *Runtime) DB() *store.DB { return rt.db }

// Bus is the service's messaging bus (nil without Spec.Bus).
func (rt *Runtime) Bus() *messaging.Bus { return rt.bus }

// Clock is the service's clock (offset settable with POST /lab/clock).
func (rt *Runtime) Clock() clock.Clock { return rt.clk }

// TracerProvider is the process's provider (span file, optional OTLP).
func (rt *Runtime) TracerProvider() trace.TracerProvider { return rt.tp }

// Setting returns a raw service setting.
func (rt *Runtime) Setting(key string) (string, bool) {
	v, ok := rt.cfg.Settings[key]
	return v, ok
}

// Duration returns a duration setting, def when absent; a malformed or
// negative value is an error naming the key.
func (rt *Runtime) Duration(key string, def time.Duration) (time.Duration, error) {
	d := def
	if err := Duration(rt.cfg.Settings, key, &d); err != nil {
		return 0, err
	}
	return d, nil
}

// Addr is the HTTP listen address (useful with port 0).
func (rt *Runtime) Addr() string { return rt.ln.Addr().String() }

// Mux is the service's mux (Go 1.22 patterns, e.g. "GET /tickets/{id}").
// Register routes before Run.
func (rt *Runtime) Mux() *http.ServeMux { return rt.mux }

// HandleHTTP mounts h on the service's mux. Call before Run.
func (rt *Runtime) HandleHTTP(pattern string, h http.Handler) { rt.mux.Handle(pattern, h) }

// HandleFunc mounts f on the service's mux. Call before Run.
func (rt *Runtime) HandleFunc(pattern string, f http.HandlerFunc) { rt.mux.HandleFunc(pattern, f) }

// Handler is what Run serves: the mux behind Spec.Middleware.
func (rt *Runtime) Handler() http.Handler {
	if rt.spec.Middleware == nil {
		return rt.mux
	}
	return rt.spec.Middleware(rt.mux)
}

// Go adds a background loop that Run starts and stops with the service.
// fn must return when ctx ends; a return with an error (other than ctx's)
// stops the service with that error. Call before Run.
func (rt *Runtime) Go(name string, fn func(ctx context.Context) error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.loops = append(rt.loops, loop{name, fn})
}

// Run starts the bus (consumers, relay), the HTTP server and the
// registered loops in one errgroup, and blocks until ctx ends or a part
// fails. Shutdown is graceful (HTTP drained, in-flight handlings settled),
// then the store and tracing are closed. It returns nil after a clean stop.
func (rt *Runtime) Run(ctx context.Context) error {
	defer rt.Close()
	rt.mu.Lock()
	if rt.running {
		rt.mu.Unlock()
		return errors.New("runtime: Run called twice")
	}
	rt.running = true
	loops := slices.Clone(rt.loops)
	rt.mu.Unlock()

	g, gctx := errgroup.WithContext(ctx)
	if rt.bus != nil {
		g.Go(func() error {
			if err := rt.bus.Run(gctx); err != nil {
				return fmt.Errorf("messaging: %w", err)
			}
			return nil
		})
	}
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
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.set.ShutdownTimeout)
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
	attrs := append([]any{"http", rt.Addr()}, rt.spec.LogAttrs...)
	rt.log.Info("Service started", append(attrs, "seed", rt.cfg.Seed, "start", rt.ids.starts, "pid", os.Getpid())...)
	if err := g.Wait(); err != nil {
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
			ctx, cancel := context.WithTimeout(context.Background(), rt.set.ShutdownTimeout)
			errs = append(errs, rt.stopTP(ctx))
			cancel()
		}
		rt.closeErr = errors.Join(errs...)
	})
	return rt.closeErr
}
