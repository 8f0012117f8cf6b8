package messaging

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// ScopeName is the instrumentation scope of the spans this package makes.
const ScopeName = "github.com/ticketflow-lab/tflab/system/messaging"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the messaging schema (inbox, dedup skips, outbox, ordering
// guard). Bus.Run applies it; a service may also apply it together with its own.
var Migrations = store.EmbeddedMigrations("messaging", migrationFiles, "migrations")

// RetryConfig tunes retries and dead-lettering (protection "retries").
type RetryConfig struct {
	// MaxAttempts is the number of handlings before a message is
	// dead-lettered (attempt 1 is the first). Default 5.
	MaxAttempts int
	// Delay is how long a failed message waits in the retry queue. Default 1 s.
	Delay time.Duration
	// Quorum makes the retry and dead-letter queues quorum queues.
	Quorum bool
}

func (c *RetryConfig) setDefaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.Delay == 0 {
		c.Delay = time.Second
	}
}

// Config describes one service's messaging.
type Config struct {
	// Service and Instance name the process in spans and connection names.
	Service  string
	Instance string
	// URL is the AMQP URL (in the lab: the service's Toxiproxy listener).
	URL string
	// Fallbacks are the AMQP URLs of the other broker nodes, tried in order
	// after URL when it fails (ConnConfig.Fallbacks). Empty on one node.
	Fallbacks []string
	// QueueType, when set (Classic or Quorum), is the type of every durable,
	// non-exclusive, non-auto-delete queue of the topology that names none,
	// retry and dead-letter companions included. Empty keeps each queue's
	// own type (classic unless it says otherwise).
	QueueType string
	// Topology is the service's declarative topology, declared on every
	// (re)connect. Retry and dead-letter queues of consumed queues are added
	// automatically when retries are on.
	Topology Topology
	// Protections; use AllProtections() or ParseProtections for the default.
	Protections Protections
	Publisher   PublisherConfig
	Outbox      OutboxConfig
	Retry       RetryConfig
	// Reconnect paces reconnects of both connections.
	Reconnect Backoff
	// DialTimeout and Heartbeat of both connections (defaults 5 s and 10 s).
	DialTimeout time.Duration
	Heartbeat   time.Duration
	// HandlerTimeout bounds one handling, transaction included. Default 30 s.
	HandlerTimeout time.Duration
	// DirectPublish says when Tx.Publish sends a message while the outbox is
	// off: DirectInTx (the default, as the original Ticketflow) or
	// DirectAfterCommit. Ignored with the outbox on.
	DirectPublish string
	// DirectPublishTimeout bounds one direct publish (outbox off), confirm
	// and republishes included. Default 10 s.
	DirectPublishTimeout time.Duration
}

// Values of Config.DirectPublish: when a direct publish (outbox off) leaves.
const (
	// DirectInTx publishes at Tx.Publish time, inside the transaction and
	// before its commit (waiting for the broker's confirm when confirms are
	// on), as the original Ticketflow did without its outbox (spec §7.2,
	// §8.6). A publish error fails the handling. A later failure (an error
	// after the handler, a failed commit, a crash) rolls the writes back, but
	// the message has already left: a ghost event; the redelivery publishes
	// it again. Counted as Ghosts.
	DirectInTx = "in-tx"
	// DirectAfterCommit keeps the messages in memory and publishes them right
	// after the commit: it never ghosts, but a crash or an outage between
	// the commit and the publish loses them (LostAfterCommit,
	// ErrLostAfterCommit).
	DirectAfterCommit = "after-commit"
)

func (c *Config) setDefaults() {
	if c.Instance == "" {
		c.Instance = "1"
	}
	c.Publisher.setDefaults()
	c.Outbox.setDefaults()
	c.Retry.setDefaults()
	c.Reconnect.setDefaults()
	if c.DirectPublish == "" {
		c.DirectPublish = DirectInTx
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = 30 * time.Second
	}
	if c.DirectPublishTimeout == 0 {
		c.DirectPublishTimeout = 10 * time.Second
	}
}

// Validate reports what is wrong with the config.
func (c Config) Validate() error {
	var errs []error
	if c.Service == "" {
		errs = append(errs, errors.New("service name must be set"))
	}
	if c.URL == "" {
		errs = append(errs, errors.New("AMQP URL must be set"))
	}
	if c.QueueType != "" && c.QueueType != Classic && c.QueueType != Quorum {
		errs = append(errs, fmt.Errorf("queue type %q: want %s or %s", c.QueueType, Classic, Quorum))
	}
	if c.Retry.MaxAttempts < 0 || c.Retry.Delay < 0 {
		errs = append(errs, errors.New("retry attempts and delay must not be negative"))
	}
	if c.HandlerTimeout < 0 || c.DirectPublishTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	switch c.DirectPublish {
	case "", DirectInTx, DirectAfterCommit:
	default:
		errs = append(errs, fmt.Errorf("direct publish %q: want %s or %s", c.DirectPublish, DirectInTx, DirectAfterCommit))
	}
	errs = append(errs, c.Topology.Validate(), c.Publisher.Validate(), c.Outbox.Validate(), c.Reconnect.Validate())
	return errors.Join(errs...)
}

// ConsumerConfig tunes one queue's consumer.
type ConsumerConfig struct {
	// Prefetch is the basic.qos prefetch count. Default 10.
	Prefetch int
	// Concurrency is how many deliveries are handled at once. Default:
	// Prefetch (as in the original, where every prefetched message was handled
	// concurrently). Use 1 for strictly sequential handling.
	Concurrency int
}

// Hooks are test and anomaly hook points; nil fields do nothing.
type Hooks struct {
	// BeforeAck runs after the handling span ended and before the delivery is
	// settled (acked, nacked or rejected).
	BeforeAck func(ctx context.Context, d *Delivery)
	// AfterRelayPublish runs after the outbox relay published a row and
	// before it marks the row sent. An error leaves the row unsent, so the
	// relay publishes it again at its next round (the in-app anomaly
	// OutboxErrorOnPublish: an at-least-once relay sends duplicates).
	AfterRelayPublish func(ctx context.Context, m Message) error
	// DeadLettered runs after a failed message was moved to queue's
	// dead-letter queue, with the handler's error, before the delivery is
	// acked.
	DeadLettered func(ctx context.Context, queue string, d *Delivery, cause error)
}

// Option configures a Bus.
type Option interface{ apply(*options) }

type options struct {
	tp    trace.TracerProvider
	log   *slog.Logger
	rnd   *rand.Rand
	hooks Hooks
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithTracerProvider sets the provider of the publish and process spans
// (default otel.GetTracerProvider()). Nil is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(o *options) {
		if tp != nil {
			o.tp = tp
		}
	})
}

// WithLogger sets the logger (default: discard). Nil is ignored.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.log = l
		}
	})
}

// WithRand sets the seeded source of backoff jitter. Nil is ignored.
func WithRand(r *rand.Rand) Option {
	return optionFunc(func(o *options) {
		if r != nil {
			o.rnd = r
		}
	})
}

// WithHooks installs hook points.
func WithHooks(h Hooks) Option { return optionFunc(func(o *options) { o.hooks = h }) }

// Bus is one service's messaging: a producer connection with the publisher
// and the outbox relay, a consumer connection with one consumer per queue,
// and the service database the protections write to.
type Bus struct {
	cfg    Config
	prot   Protections
	db     *store.DB
	log    *slog.Logger
	tracer trace.Tracer
	hooks  Hooks
	stats  *Stats
	attrs  []attribute.KeyValue

	pconn *Conn
	cconn *Conn
	pub   *Publisher
	relay *relay

	mu        sync.Mutex
	consumers map[string]*consumer
	order     []string // queue registration order
	running   bool
	ready     chan struct{}
}

// New builds a bus; nothing connects until Run (or the first publish).
func New(cfg Config, db *store.DB, opts ...Option) (*Bus, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("messaging config: %w", err)
	}
	if db == nil {
		return nil, errors.New("messaging: a store is required")
	}
	o := options{tp: otel.GetTracerProvider(), log: slog.New(slog.DiscardHandler), rnd: rand.New(rand.NewPCG(1, 2))}
	for _, opt := range opts {
		opt.apply(&o)
	}
	b := &Bus{
		cfg:       cfg,
		prot:      cfg.Protections,
		db:        db,
		log:       o.log.With("component", "messaging", "service", cfg.Service, "instance", cfg.Instance),
		tracer:    o.tp.Tracer(ScopeName),
		hooks:     o.hooks,
		stats:     &Stats{},
		consumers: map[string]*consumer{},
		ready:     make(chan struct{}),
		attrs:     []attribute.KeyValue{otelamqp.LabService.String(cfg.Service), otelamqp.LabInstance.String(cfg.Instance)},
	}
	rnd := &lockedRand{r: o.rnd}
	var err error
	b.pconn, err = newConn(b.connConfig("producer"), b.log, rnd, b.stats)
	if err != nil {
		return nil, err
	}
	b.cconn, err = newConn(b.connConfig("consumer"), b.log, rnd, b.stats)
	if err != nil {
		return nil, err
	}
	b.pub = &Publisher{conn: b.pconn, opening: make(chan struct{}, 1), cfg: cfg.Publisher, confirms: b.prot.Confirms, tracer: b.tracer, attrs: b.attrs,
		stats: b.stats, log: b.log.With("component", "publisher"), rnd: rnd}
	b.relay = newRelay(db, b.pub, cfg.Outbox, b.stats, b.log, cfg.Service+"/"+cfg.Instance)
	b.relay.afterPublish = o.hooks.AfterRelayPublish
	if b.prot.Outbox {
		b.log.Info("Messaging configured", "protections", b.prot.String())
	} else {
		b.log.Info("Messaging configured", "protections", b.prot.String(), "direct_publish", cfg.DirectPublish)
	}
	return b, nil
}

func (b *Bus) connConfig(role string) ConnConfig {
	return ConnConfig{
		URL: b.cfg.URL, Fallbacks: b.cfg.Fallbacks, Name: b.cfg.Service + "-" + b.cfg.Instance + "-" + role,
		DialTimeout: b.cfg.DialTimeout, Heartbeat: b.cfg.Heartbeat, Backoff: b.cfg.Reconnect,
		Topology: b.cfg.Topology,
	}
}

// Protections reports the bus's protections.
func (b *Bus) Protections() Protections { return b.prot }

// Stats returns the counters.
func (b *Bus) Stats() Snapshot { return b.stats.Snapshot() }

// Publisher is the bus's publisher, for traffic that deliberately bypasses
// the outbox (transient notifications). Handlers publish through Tx.Publish.
func (b *Bus) Publisher() *Publisher { return b.pub }

// Ready is closed once every registered consumer consumes (after Run starts).
func (b *Bus) Ready() <-chan struct{} { return b.ready }

// Connected reports whether both connections, producer and consumer, are
// open right now (while Run runs it re-opens either as soon as it is lost).
// A closed or reset link is seen at once, a silent one at the next missed
// heartbeat.
func (b *Bus) Connected() bool { return b.pconn.Connected() && b.cconn.Connected() }

// Consume sets the consumer config of queue. Call before Run.
func (b *Bus) Consume(queue string, cc ConsumerConfig) {
	b.consumer(queue).setConfig(cc)
}

// HandleOption configures one handler.
type HandleOption func(*handler)

// Ordered puts the handler behind the per-aggregate ordering guard (protection
// "ordering"): messages with an aggregate id and version are applied only in
// version order, per aggregate id within scope ("" = service-wide).
func Ordered(scope string) HandleOption {
	return func(h *handler) { h.ordered, h.scope = true, scope }
}

// OrderedFrom is Ordered for aggregates whose versions start at first (e.g.
// 1): until first has been applied, later versions are held back as early
// instead of starting the aggregate's stream in the middle, which would make
// the real first versions stale and lose them.
func OrderedFrom(scope string, first int64) HandleOption {
	return func(h *handler) { h.ordered, h.scope, h.first = true, scope, first }
}

// AnyType registers a queue's catch-all handler (Handle(queue, AnyType, h)):
// it handles every type that has no handler of its own on that queue,
// instead of the type being acked and dropped.
const AnyType = "*"

// Handle registers h for messages of type msgType (or AnyType) arriving on
// queue. Call before Run. Registering the same (queue, type) twice, or registering after
// Run, is a programming error and panics.
func (b *Bus) Handle(queue, msgType string, h Handler, opts ...HandleOption) {
	hd := &handler{fn: h}
	for _, o := range opts {
		o(hd)
	}
	b.consumer(queue).add(msgType, hd)
}

func (b *Bus) consumer(queue string) *consumer {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		panic("messaging: register handlers and consumers before Run")
	}
	c, ok := b.consumers[queue]
	if !ok {
		c = newConsumer(b, queue)
		b.consumers[queue] = c
		b.order = append(b.order, queue)
	}
	return c
}

// fullTopology is the service topology plus retry companions of consumed queues.
func (b *Bus) fullTopology() Topology {
	t := b.cfg.Topology
	if b.prot.Retries {
		for _, q := range b.order {
			t = t.Merge(RetryTopology(q, b.cfg.Retry.Delay, b.cfg.Retry.Quorum || b.cfg.QueueType == Quorum))
		}
	}
	return t.WithQueueType(b.cfg.QueueType)
}

// Run applies the messaging migrations, declares the topology, starts the
// consumers and (outbox on) the relay, and blocks until ctx ends. Shutdown is
// graceful: consumers stop taking deliveries, in-flight handlings finish and
// settle, the relay makes one last bounded round, then the connections close.
// Run returns nil after a clean shutdown.
func (b *Bus) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return errors.New("messaging: Run called twice")
	}
	b.running = true
	topo := b.fullTopology()
	b.mu.Unlock()
	if err := topo.Validate(); err != nil {
		return fmt.Errorf("messaging topology: %w", err)
	}
	b.pconn.cfg.Topology, b.cconn.cfg.Topology = topo, topo
	if err := b.db.Migrate(ctx, Migrations); err != nil {
		return fmt.Errorf("messaging migrations: %w", err)
	}
	defer func() {
		b.pub.close()
		if err := errors.Join(b.pconn.Close(), b.cconn.Close()); err != nil {
			b.log.Debug("Closing connections", "err", err)
		}
	}()

	// Connect once up front (waiting for the broker as long as ctx allows):
	// a topology the broker refuses fails Run instead of looping.
	ch, err := b.cconn.Channel(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("messaging: %w", err)
	}
	_ = ch.Close()

	// Both connections are held up, not only dialled on demand, so an idle
	// publisher is connected again after an outage (Connected).
	var keepers sync.WaitGroup
	for _, c := range []*Conn{b.pconn, b.cconn} {
		keepers.Go(func() { c.keep(ctx, b.cfg.Reconnect) })
	}
	defer keepers.Wait()

	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	var relayDone sync.WaitGroup
	if b.prot.Outbox {
		relayDone.Go(func() { b.relay.run(relayCtx, b.cfg.Publisher.ConfirmTimeout) })
	}

	var wg sync.WaitGroup
	var readyWG sync.WaitGroup
	for _, q := range b.order {
		c := b.consumers[q]
		readyWG.Add(1)
		ready := sync.OnceFunc(readyWG.Done)
		wg.Go(func() {
			defer ready() // a consumer stopped before it consumed must not hold Ready forever
			c.run(ctx, ready)
		})
	}
	go func() {
		readyWG.Wait()
		close(b.ready)
	}()
	<-ctx.Done()
	wg.Wait() // consumers return once in-flight work settled
	// The relay makes one last bounded round for what the final handlings
	// wrote, then stops.
	stopRelay()
	relayDone.Wait()
	b.log.Info("Messaging stopped")
	return nil
}

// Tx is a handling's transaction: the service's writes, the inbox row and
// the outbox rows commit together. Valid only inside the callback.
type Tx struct {
	*store.Tx
	bus     *Bus
	in      *Delivery
	effects []string
	direct  []outgoing // outbox off, after-commit: published after the commit
	sent    int        // outbox off, in-tx: messages already on the broker
	wakes   bool       // the relay is woken on commit
}

// Publish publishes m to r as part of the transaction. Outbox on: the message
// is written to the outbox in this transaction and relayed after the commit
// (never lost once committed, never sent if the transaction rolls back).
// Outbox off, DirectInTx (default): it is published now, before the commit,
// and an error is returned if that fails; if the transaction then rolls
// back, the message is a ghost. Outbox off, DirectAfterCommit: it is
// published right after the commit (lost if the process dies or the link
// is down then). Inside a handling, an empty CorrelationID is inherited from
// the inbound message and CausationID is set to the inbound message id.
func (t *Tx) Publish(ctx context.Context, r Route, m Message) error {
	if t.in != nil {
		if m.CorrelationID == "" {
			m.CorrelationID = t.in.CorrelationID
		}
		if m.CausationID == "" {
			m.CausationID = t.in.ID
		}
	}
	if m.ID == "" {
		m.ID = NewID()
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = time.Now().UTC()
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if t.bus.prot.Outbox {
		if err := outboxInsert(ctx, t.Tx, r, m); err != nil {
			return err
		}
		if !t.wakes {
			t.wakes = true
			t.OnCommit(t.bus.relay.Wake)
		}
		return nil
	}
	if t.bus.cfg.DirectPublish == DirectInTx {
		pctx, cancel := context.WithTimeout(ctx, t.bus.cfg.DirectPublishTimeout)
		defer cancel()
		if err := t.bus.pub.publish(pctx, []outgoing{{ctx: ctx, route: r, msg: m, via: otelamqp.ViaDirect}})[0]; err != nil {
			return fmt.Errorf("publish %s %s in the transaction: %w", m.Type, m.ID, err)
		}
		t.sent++
		return nil
	}
	t.direct = append(t.direct, outgoing{ctx: ctx, route: r, msg: m, via: otelamqp.ViaDirect})
	return nil
}

// rolledBack accounts for the in-tx direct publishes of a transaction that
// did not commit: each of them is a ghost event already on the broker.
func (b *Bus) rolledBack(ctx context.Context, t *Tx, cause error) {
	if t == nil || t.sent == 0 {
		return
	}
	b.stats.Ghosts.Add(int64(t.sent))
	trace.SpanFromContext(ctx).AddEvent("ghost events", trace.WithAttributes(attribute.Int("published", t.sent)))
	b.log.Warn("Transaction rolled back after publishing (outbox off): ghost events on the broker",
		"published", t.sent, "err", cause)
}

// Effect records idempotency keys of the handling's side effects (e.g.
// "ticket:42:created"); they become the lab.effect.keys span attribute.
func (t *Tx) Effect(keys ...string) { t.effects = append(t.effects, keys...) }

// ErrLostAfterCommit marks direct (outbox off) publishes that failed after
// their transaction committed: the effects are durable, the messages are gone.
var ErrLostAfterCommit = errors.New("publish after commit failed; message lost")

// afterCommit publishes the direct messages of t (outbox off, after-commit).
func (b *Bus) afterCommit(ctx context.Context, t *Tx) error {
	if len(t.direct) == 0 {
		return nil
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.DirectPublishTimeout)
	defer cancel()
	var errs []error
	for i, err := range b.pub.publish(pctx, t.direct) {
		if err != nil {
			b.stats.LostAfterCommit.Add(1)
			m := t.direct[i].msg
			b.log.Error("Message lost: publish after commit failed", "msg_id", m.ID, "type", m.Type, "err", err)
			errs = append(errs, fmt.Errorf("%s %s: %w", m.Type, m.ID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrLostAfterCommit, errors.Join(errs...))
	}
	return nil
}

// InTx runs fn in one transaction outside any message handling (an HTTP
// command): its writes and the messages it publishes with Tx.Publish commit
// together (outbox on). With the outbox off the messages leave at
// Tx.Publish (DirectInTx: a rollback leaves them as ghosts) or after the
// commit (DirectAfterCommit: a failure returns an error wrapping
// ErrLostAfterCommit).
func (b *Bus) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	var t *Tx
	err := b.db.InTx(ctx, func(ctx context.Context, stx *store.Tx) error {
		t = &Tx{Tx: stx, bus: b}
		return fn(ctx, t)
	})
	if err != nil {
		b.rolledBack(ctx, t, err)
		return err
	}
	return b.afterCommit(ctx, t)
}
