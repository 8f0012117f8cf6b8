package tsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/tracing"
)

// System is the system name every ticketsale service config carries.
const System = "ticketsale"

// Spec declares what a service adds to the runtime.
type Spec struct {
	// Service is the service's name; cfg.Name must equal it.
	Service string
	// Messaging says whether the service talks to the broker at all
	// (auth and the gateway do not).
	Messaging bool
	// Migrations are the service's own schema sets.
	Migrations []store.Migrations
}

// Handler handles one event inside the handling's transaction. An error
// rolls the transaction back; the event comes back after ackWait.
type Handler func(ctx context.Context, tx *messaging.Tx, d *messaging.Delivery) error

// Runtime is one running ticketsale service instance: store, tracing, bus
// (optional), clock, session verifier, HTTP server and background loops.
// Build it with New, register listeners, routes and loops, then Run once.
type Runtime struct {
	cfg  service.Config
	spec Spec
	set  Settings
	log  *slog.Logger

	db     *store.DB
	tp     trace.TracerProvider
	stopTP func(context.Context) error
	bus    *messaging.Bus
	clk    *clock.Real
	signer *common.Signer

	inflight sync.Map // *messaging.Delivery -> *time.Timer (ackWait)
	expired  atomic.Int64

	ln  net.Listener
	mux *http.ServeMux

	mu      sync.Mutex
	queues  []string
	loops   []loop
	running bool

	closeOnce sync.Once
	closeErr  error
}

type loop struct {
	name string
	fn   func(ctx context.Context) error
}

// New opens everything a service needs; nothing consumes or serves until
// Run. On error, what was opened is closed again. log nil discards.
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
		clk: clock.NewReal(set.ClockOffset), mux: http.NewServeMux()}
	defer func() {
		if err != nil {
			_ = rt.Close()
		}
	}()
	if rt.signer, err = common.NewSigner(set.JWTKey); err != nil {
		return nil, err
	}
	rt.db, err = store.Open(ctx, store.Config{Path: cfg.DBPath, Log: rt.log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	sets := spec.Migrations
	if spec.Messaging {
		sets = append([]store.Migrations{messaging.Migrations}, sets...)
	}
	if err := rt.db.Migrate(ctx, sets...); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	tp, stop, err := tracing.Setup(ctx, tracing.Config{ServiceName: cfg.Name, Instance: cfg.ID(),
		SpanFile: cfg.SpanFile, OTLPEndpoint: set.OTLPEndpoint, Logger: rt.log})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	rt.tp, rt.stopTP = tp, stop
	if spec.Messaging {
		if rt.bus, err = rt.newBus(); err != nil {
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

// Protections returns the messaging protections a ticketsale service runs
// with: the course has no inbox and no per-aggregate guard of the lab (its
// own version rule lives in the handlers), so dedup and ordering are off;
// outbox follows the Outbox toggle; confirms and retries follow
// cfg.Unprotect.
func Protections(cfg service.Config, t common.Toggles) (messaging.Protections, error) {
	ours, _ := messaging.SplitProtections(cfg.Unprotect)
	p, err := messaging.ParseProtections(ours)
	if err != nil {
		return p, err
	}
	p.Dedup, p.Ordering = false, false
	p.Outbox = t.Fixed(common.Outbox)
	return p, nil
}

func (rt *Runtime) newBus() (*messaging.Bus, error) {
	prot, err := Protections(rt.cfg, rt.set.Toggles)
	if err != nil {
		return nil, err
	}
	mc := messaging.Config{
		Service: rt.cfg.Name, Instance: rt.cfg.ID(), URL: rt.cfg.AMQPURL, Fallbacks: rt.cfg.AMQPFallbacks,
		QueueType: rt.cfg.QueueType, Topology: Topology(common.GroupOf(rt.spec.Service), common.Listens[rt.spec.Service]),
		Protections: prot, Heartbeat: rt.set.Heartbeat,
		Publisher:     messaging.PublisherConfig{ConfirmTimeout: rt.set.ConfirmTimeout},
		Outbox:        messaging.OutboxConfig{PollInterval: rt.set.OutboxPoll},
		Retry:         messaging.RetryConfig{MaxAttempts: rt.set.maxAttempts(), Delay: rt.set.AckWait},
		DirectPublish: messaging.DirectAfterCommit,
	}
	rnd := rand.New(rand.NewPCG(uint64(rt.cfg.Seed), uint64(rt.cfg.Instance)))
	return messaging.New(mc, rt.db, messaging.WithTracerProvider(rt.tp), messaging.WithLogger(rt.log),
		messaging.WithRand(rnd), messaging.WithHooks(messaging.Hooks{BeforeAck: rt.settled}))
}

// Topology is the part of spec C.3's topology a service declares: the
// events exchange, and for every subject it listens to the durable queue
// group.subject bound with the subject's routing key. The messaging layer
// adds each queue's retry and dead-letter companions.
func Topology(group string, listens []string) messaging.Topology {
	t := messaging.Topology{Exchanges: []messaging.Exchange{{Name: common.Exchange, Kind: messaging.Topic}}}
	for _, s := range listens {
		q := common.QueueName(group, s)
		t.Queues = append(t.Queues, messaging.Queue{Name: q})
		t.Bindings = append(t.Bindings, messaging.Binding{Source: common.Exchange, Destination: q, Key: common.RoutingKey(s)})
	}
	return t
}

// Config is the process config the runtime was built from.
func (rt *Runtime) Config() service.Config { return rt.cfg }

// Settings are the parsed settings, toggles included.
func (rt *Runtime) Settings() Settings { return rt.set }

// Toggles are the faithful/fixed switches the instance runs with.
func (rt *Runtime) Toggles() common.Toggles { return rt.set.Toggles }

// Log is the service's logger (scoped with service and instance).
func (rt *Runtime) Log() *slog.Logger { return rt.log }

// DB is the service's store.
func (rt *Runtime) DB() *store.DB { return rt.db }

// Bus is the service's messaging bus (nil without Spec.Messaging).
func (rt *Runtime) Bus() *messaging.Bus { return rt.bus }

// Clock is the service's clock (offset settable with POST /lab/clock).
func (rt *Runtime) Clock() clock.Clock { return rt.clk }

// Signer signs and verifies session JWTs.
func (rt *Runtime) Signer() *common.Signer { return rt.signer }

// Addr is the HTTP listen address.
func (rt *Runtime) Addr() string { return rt.ln.Addr().String() }

// Mux is the service's mux (Go 1.22 patterns). Register routes before Run.
func (rt *Runtime) Mux() *http.ServeMux { return rt.mux }

// Handler is what Run serves: the mux behind the course's currentUser
// middleware.
func (rt *Runtime) Handler() http.Handler { return rt.signer.CurrentUser(rt.mux) }

// AckWaitExpired counts handlings that outlived ackWait (each sent a copy
// of its message back to the queue).
func (rt *Runtime) AckWaitExpired() int64 { return rt.expired.Load() }

// Listen registers h for subject on the service's queue group. Call before
// Run.
func (rt *Runtime) Listen(subject string, h Handler) {
	if rt.bus == nil {
		panic("tsapp: Listen on a service without messaging")
	}
	q := common.QueueName(common.GroupOf(rt.spec.Service), subject)
	rt.mu.Lock()
	rt.queues = append(rt.queues, q)
	rt.mu.Unlock()
	rt.bus.Consume(q, messaging.ConsumerConfig{Prefetch: rt.set.MaxInFlight})
	rt.bus.Handle(q, subject, messaging.Handler(h), messaging.AroundTx(messaging.TxHooks{Before: rt.started(q)}))
}

// Publish publishes ev inside tx: to the outbox (Outbox fixed) or right
// after the commit (faithful), routed by its subject, with the aggregate id
// and version in the envelope and an effect key subject:id:version.
func (rt *Runtime) Publish(ctx context.Context, tx *messaging.Tx, ev common.Event) error {
	m, err := messaging.NewMessage(ev.Subject, ev.Payload)
	if err != nil {
		return err
	}
	m = m.WithAggregate(ev.AggregateID, ev.Version)
	if err := tx.Publish(ctx, messaging.To(common.Exchange, common.RoutingKey(ev.Subject)), m); err != nil {
		return err
	}
	tx.Effect(fmt.Sprintf("%s:%s:%d", ev.Subject, ev.AggregateID, ev.Version))
	return nil
}

// PublishAll publishes evs in order (Publish).
func (rt *Runtime) PublishAll(ctx context.Context, tx *messaging.Tx, evs []common.Event) error {
	for _, ev := range evs {
		if err := rt.Publish(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// InTx runs fn in one transaction whose publishes commit with it (the
// bus's InTx). With the Outbox toggle faithful the events leave after the
// commit and a failed publish loses them; the course never awaited its
// publishes, so that loss is logged and InTx still returns nil.
func (rt *Runtime) InTx(ctx context.Context, fn func(ctx context.Context, tx *messaging.Tx) error) error {
	if rt.bus == nil {
		return errors.New("tsapp: InTx on a service without messaging; use DB().InTx")
	}
	err := rt.bus.InTx(ctx, fn)
	if errors.Is(err, messaging.ErrLostAfterCommit) {
		rt.log.Warn("Committed, but its events were lost (outbox faithful)", "err", err)
		return nil
	}
	return err
}

// Go adds a background loop that Run starts and stops with the service.
// fn must return when ctx ends. Call before Run.
func (rt *Runtime) Go(name string, fn func(ctx context.Context) error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.loops = append(rt.loops, loop{name, fn})
}

// Run starts the bus, the HTTP server and the loops, and blocks until ctx
// ends or a part fails; then it drains HTTP, lets handlings settle and
// closes the store and tracing. It returns nil after a clean stop.
func (rt *Runtime) Run(ctx context.Context) error {
	defer rt.Close()
	rt.mu.Lock()
	if rt.running {
		rt.mu.Unlock()
		return errors.New("tsapp: Run called twice")
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
	rt.log.Info("Service started", "http", rt.Addr(), "toggles", rt.set.Toggles.String(), "ack_wait", rt.set.AckWait,
		"seed", rt.cfg.Seed, "pid", os.Getpid())
	if err := g.Wait(); err != nil {
		rt.log.Error("Service failed", "err", err)
		return err
	}
	rt.log.Info("Service stopped")
	return nil
}

// Close releases what New opened. Run calls it; call it yourself only when
// Run is never called. It is idempotent.
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
