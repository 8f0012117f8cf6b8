package benchhop

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ticketflow-lab/tflab/internal/benchproxy"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// effects is the hop's own schema: one row per effect applied.
var effects = store.EmbeddedMigrations("benchhop", migrationFiles, "migrations")

// Body is the message body of both sides: a ticket event of about 512 bytes.
var Body = []byte(`{"ticketId":"4f1c2a9e-2b1d-4c55-9a51-1f7c7d1e0a11","version":3,"partitionKey":"4f1c2a9e-2b1d-4c55-9a51-1f7c7d1e0a11","note":"` +
	string(slices.Repeat([]byte("x"), 380)) + `"}`)

// Side names what a measurement times.
type Side string

const (
	SideRaw Side = "raw"
	SideHop Side = "hop"
)

// Config is one measurement.
type Config struct {
	AMQPURL string
	// Messages per measurement (default 20000).
	Messages int
	// Dir receives the hop's SQLite database (one file per measurement).
	Dir string
	// Progress, if set, is called about every 250 ms and once at the end
	// with the number of messages through so far, from the calling goroutine.
	Progress func(done int)
	// Log receives the bus's events; nil discards.
	Log *slog.Logger
	// BrokerPID is the broker node's local process id; when set (a private
	// node), each Result also carries the node's CPU time while measuring.
	BrokerPID int
}

func (c *Config) setDefaults() {
	if c.Messages == 0 {
		c.Messages = 20000
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports what is wrong with the config (after defaults).
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if c.AMQPURL == "" {
		errs = append(errs, errors.New("bench hop: amqp url must be set"))
	}
	if c.Messages < 1 {
		errs = append(errs, fmt.Errorf("bench hop: %d messages: want at least 1", c.Messages))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("bench hop: dir must be set"))
	}
	return errors.Join(errs...)
}

// Result is one measurement.
type Result struct {
	Messages int
	Elapsed  time.Duration
	// CPU is the process's user+system CPU time spent while measuring (raw:
	// connection setup included; hop: from the bus's start, the preload not
	// included).
	CPU time.Duration
	// BrokerCPU is the broker node's CPU time over the same span (zero
	// when Config.BrokerPID is not set or cannot be read).
	BrokerCPU time.Duration
	// Batches is how many group commits the hop's database made for its
	// Messages handlings (hop side only).
	Batches int64
}

// Rate is messages per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

// CPUPerMessage is CPU divided by Messages.
func (r Result) CPUPerMessage() time.Duration {
	if r.Messages == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Messages)
}

// BrokerCPUPerMessage is BrokerCPU divided by Messages.
func (r Result) BrokerCPUPerMessage() time.Duration {
	if r.Messages == 0 {
		return 0
	}
	return r.BrokerCPU / time.Duration(r.Messages)
}

// Raw times cfg.Messages Body-sized persistent publishes with confirms and
// their consumption with manual acks (package benchproxy's measurement).
func Raw(ctx context.Context, cfg Config) (Result, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	cpu0, broker0 := cpuTime(), procCPU(cfg.BrokerPID)
	r, err := benchproxy.Run(ctx, benchproxy.Config{AMQPURL: cfg.AMQPURL, Messages: cfg.Messages, Size: len(Body), Progress: cfg.Progress})
	if err != nil {
		return Result{}, fmt.Errorf("raw: %w", err)
	}
	return Result{Messages: r.Messages, Elapsed: r.Elapsed, CPU: cpuTime() - cpu0, BrokerCPU: procCPU(cfg.BrokerPID) - broker0}, nil
}

// Hop preloads cfg.Messages messages into a fresh queue, then times a bus
// with every protection on consuming each, writing an effect and an outbox
// row in one transaction, relaying it to a second queue and acking, until
// all arrived in the second queue. Both queues are deleted afterwards.
func Hop(ctx context.Context, cfg Config) (res Result, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	n := cfg.Messages
	id := messaging.NewID()[:8]
	in, out := "tflab.benchhop.in."+id, "tflab.benchhop.out."+id

	conn, err := amqp.DialConfig(cfg.AMQPURL, amqp.Config{Dial: amqp.DefaultDial(10 * time.Second), Properties: amqp.Table{"connection_name": "tflab bench hop"}})
	if err != nil {
		return Result{}, fmt.Errorf("hop dial: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return Result{}, fmt.Errorf("hop channel: %w", err)
	}
	for _, q := range []string{in, out} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return Result{}, fmt.Errorf("hop queue: %w", err)
		}
	}
	defer func() {
		if dch, err := conn.Channel(); err == nil {
			_, _ = dch.QueueDelete(in, false, false, false)
			_, _ = dch.QueueDelete(out, false, false, false)
			_ = dch.Close()
		}
	}()
	if err := preload(ctx, ch, in, n); err != nil {
		return Result{}, err
	}

	db, err := store.Open(ctx, store.Config{Path: filepath.Join(cfg.Dir, "benchhop-"+id+".sqlite")})
	if err != nil {
		return Result{}, fmt.Errorf("hop store: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, messaging.Migrations, effects); err != nil {
		return Result{}, fmt.Errorf("hop store: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	defer func() { _ = tp.Shutdown(context.WithoutCancel(ctx)) }()
	bus, err := messaging.New(busConfig(cfg.AMQPURL, in, out), db, messaging.WithTracerProvider(tp), messaging.WithLogger(cfg.Log))
	if err != nil {
		return Result{}, fmt.Errorf("hop bus: %w", err)
	}
	bus.Consume(in, messaging.ConsumerConfig{Prefetch: 200, Concurrency: 32})
	bus.Handle(in, "TicketChanged", func(ctx context.Context, tx *messaging.Tx, d *messaging.Delivery) error {
		key := "effect:" + d.ID
		tx.Effect(key)
		if _, err := tx.Exec(ctx, `INSERT INTO effects (key, msg_id) VALUES (?, ?)`, key, d.ID); err != nil {
			return err
		}
		return tx.Publish(ctx, messaging.ToQueue(out), messaging.Message{Type: "TicketSeen", Body: d.Body})
	})

	// The arrivals are counted on a channel of the preload connection.
	cch, err := conn.Channel()
	if err != nil {
		return Result{}, fmt.Errorf("hop counter channel: %w", err)
	}
	if err := cch.Qos(500, 0, false); err != nil {
		return Result{}, fmt.Errorf("hop counter qos: %w", err)
	}
	dels, err := cch.Consume(out, "", true, false, false, false, nil)
	if err != nil {
		return Result{}, fmt.Errorf("hop counter consume: %w", err)
	}
	var arrived atomic.Int64
	all, counted := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(counted)
		for range dels {
			if arrived.Add(1) == int64(n) {
				close(all)
			}
		}
	}()
	defer func() {
		_ = cch.Close() // ends dels, so the counter returns
		<-counted
	}()

	runCtx, stopBus := context.WithCancel(ctx)
	busDone := make(chan error, 1)
	start, cpu0, broker0 := time.Now(), cpuTime(), procCPU(cfg.BrokerPID)
	go func() { busDone <- bus.Run(runCtx) }()
	defer func() {
		stopBus()
		if berr := <-busDone; berr != nil && err == nil {
			err = fmt.Errorf("hop bus: %w", berr)
		}
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-all:
			elapsed, cpu, broker := time.Since(start), cpuTime()-cpu0, procCPU(cfg.BrokerPID)-broker0
			if cfg.Progress != nil {
				cfg.Progress(n)
			}
			if err := waitHandled(ctx, bus, n); err != nil {
				return Result{}, err
			}
			return Result{Messages: n, Elapsed: elapsed, CPU: cpu, BrokerCPU: broker, Batches: db.Stats().Batches}, nil
		case err := <-busDone:
			busDone <- err // for the deferred stop
			return Result{}, fmt.Errorf("hop: bus stopped after %d of %d messages: %w", arrived.Load(), n, err)
		case <-ctx.Done():
			return Result{}, fmt.Errorf("hop: %d of %d messages through: %w", arrived.Load(), n, ctx.Err())
		case <-tick.C:
			if cfg.Progress != nil {
				cfg.Progress(int(arrived.Load()))
			}
		}
	}
}

// waitHandled waits, at most handledWait, until bus has counted n
// handlings. The bus counts a handling after its transaction commits, and
// the relay can publish the handling's outbox row before that, so the last
// message may arrive a moment before its handling is counted.
func waitHandled(ctx context.Context, bus *messaging.Bus, n int) error {
	deadline := time.Now().Add(handledWait)
	for {
		s := bus.Stats()
		switch {
		case s.Handled == int64(n):
			return nil
		case s.Handled > int64(n) || time.Now().After(deadline):
			return fmt.Errorf("hop: %d messages arrived but the bus handled %d (stats %+v)", n, s.Handled, s)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hop: waiting for the last handlings: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// handledWait bounds waitHandled.
const handledWait = 10 * time.Second

// preload publishes n TicketChanged messages to queue with confirms and
// waits until the broker holds them all.
func preload(ctx context.Context, ch *amqp.Channel, queue string, n int) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("hop preload confirm mode: %w", err)
	}
	window := make([]*amqp.DeferredConfirmation, 0, 256)
	flush := func() error {
		for _, dc := range window {
			ok, err := dc.WaitContext(ctx)
			if err != nil {
				return fmt.Errorf("hop preload confirm: %w", err)
			}
			if !ok {
				return errors.New("hop preload: broker nacked a publish")
			}
		}
		window = window[:0]
		return nil
	}
	for i := range n {
		m := messaging.Message{ID: messaging.NewID(), Type: "TicketChanged", Body: Body, AggregateID: fmt.Sprintf("t-%d", i%500)}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, m.Publishing(nil))
		if err != nil {
			return fmt.Errorf("hop preload publish: %w", err)
		}
		if window = append(window, dc); len(window) == cap(window) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// busConfig is the bus of the hop: every protection on, the two queues,
// the timings the benchmark has always measured with.
func busConfig(amqpURL, in, out string) messaging.Config {
	var topo messaging.Topology
	for _, q := range []string{in, out} {
		topo.Queues = append(topo.Queues, messaging.Queue{Name: q})
	}
	return messaging.Config{
		Service: "benchhop", Instance: "1", URL: amqpURL, Topology: topo,
		Protections:          messaging.AllProtections(),
		Publisher:            messaging.PublisherConfig{ConfirmTimeout: 10 * time.Second, Backoff: messaging.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}},
		Outbox:               messaging.OutboxConfig{PollInterval: 100 * time.Millisecond},
		Retry:                messaging.RetryConfig{MaxAttempts: 3, Delay: 100 * time.Millisecond},
		Reconnect:            messaging.Backoff{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond},
		DialTimeout:          2 * time.Second,
		HandlerTimeout:       10 * time.Second,
		DirectPublishTimeout: 2 * time.Second,
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user+system CPU time of process pid from /proc (Linux),
// zero when pid is 0 or it cannot be read. /proc counts in clock ticks,
// taken here as the usual 100 a second.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Raw, Hop []Result
	// RawRate and HopRate are the medians in msg/s.
	RawRate, HopRate float64
	// Ratio is HopRate / RawRate.
	Ratio float64
	// RawCPU and HopCPU are the medians of CPU a message, this process's
	// plus (when Config.BrokerPID is set) the broker's.
	RawCPU, HopCPU time.Duration
	// CPURatio is RawCPU / HopCPU: the ratio a machine whose CPU is the
	// limit would give. It depends much less on other load than Ratio.
	CPURatio float64
}

// MedianSplit is the median of the results' own CPU a message and the
// median of the broker's CPU a message, each taken on its own.
func MedianSplit(rs []Result) (process, broker time.Duration) {
	return median(rs, Result.CPUPerMessage), median(rs, Result.BrokerCPUPerMessage)
}

// median is the median of f over rs (zero for none).
func median(rs []Result, f func(Result) time.Duration) time.Duration {
	if len(rs) == 0 {
		return 0
	}
	v := make([]time.Duration, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// medianCPU is the median of the results' process+broker CPU a message.
func medianCPU(rs []Result) time.Duration {
	return median(rs, func(r Result) time.Duration { return r.CPUPerMessage() + r.BrokerCPUPerMessage() })
}

// Compare runs rounds of Raw then Hop. progress, if set, hears each
// measurement's side, round and count so far.
func Compare(ctx context.Context, cfg Config, rounds int, progress func(side Side, round, done int)) (Comparison, error) {
	res, err := benchproxy.Rounds(ctx, rounds, []Side{SideRaw, SideHop}, func(ctx context.Context, side Side, r int) (Result, error) {
		run := cfg
		if progress != nil {
			run.Progress = func(n int) { progress(side, r, n) }
		}
		if side == SideHop {
			return Hop(ctx, run)
		}
		return Raw(ctx, run)
	})
	c := Comparison{Raw: res[SideRaw], Hop: res[SideHop]}
	if err != nil {
		return c, fmt.Errorf("bench hop: %w", err)
	}
	c.RawRate, c.HopRate = benchproxy.MedianRate(c.Raw), benchproxy.MedianRate(c.Hop)
	if c.RawRate > 0 {
		c.Ratio = c.HopRate / c.RawRate
	}
	c.RawCPU, c.HopCPU = medianCPU(c.Raw), medianCPU(c.Hop)
	if c.HopCPU > 0 {
		c.CPURatio = float64(c.RawCPU) / float64(c.HopCPU)
	}
	return c, nil
}
