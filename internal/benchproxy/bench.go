package benchproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Config is one measurement.
type Config struct {
	AMQPURL string
	// Messages to publish and consume (default 30000).
	Messages int
	// Size of each body in bytes (default 512).
	Size int
	// Window is the most unconfirmed publishes in flight (default 256).
	Window int
	// Prefetch is the consumer's QoS (default 200).
	Prefetch int
	// Progress, if set, is called about every 250 ms with the number of
	// messages consumed so far, from the measuring goroutine.
	Progress func(consumed int)
}

func (c *Config) setDefaults() {
	if c.Messages == 0 {
		c.Messages = 30000
	}
	if c.Size == 0 {
		c.Size = 512
	}
	if c.Window == 0 {
		c.Window = 256
	}
	if c.Prefetch == 0 {
		c.Prefetch = 200
	}
}

// Validate reports what is wrong with the config (after defaults).
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	if c.AMQPURL == "" {
		errs = append(errs, errors.New("bench: amqp url must be set"))
	}
	if c.Messages < 1 || c.Size < 1 || c.Window < 1 || c.Prefetch < 1 {
		errs = append(errs, fmt.Errorf("bench: messages %d, size %d, window %d, prefetch %d: all must be positive", c.Messages, c.Size, c.Window, c.Prefetch))
	}
	return errors.Join(errs...)
}

// Result is one measurement.
type Result struct {
	Messages int
	Elapsed  time.Duration
}

// Rate is messages per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

// Run publishes and consumes cfg.Messages messages and times it.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	conn, err := amqp.DialConfig(cfg.AMQPURL, amqp.Config{Dial: amqp.DefaultDial(10 * time.Second), Properties: amqp.Table{"connection_name": "tflab bench"}})
	if err != nil {
		return Result{}, fmt.Errorf("bench dial: %w", err)
	}
	defer conn.Close()
	pub, err := conn.Channel()
	if err != nil {
		return Result{}, fmt.Errorf("bench channel: %w", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	q, err := pub.QueueDeclare("tflab.bench."+hex.EncodeToString(suffix), true, false, false, false, nil)
	if err != nil {
		return Result{}, fmt.Errorf("bench queue: %w", err)
	}
	defer func() {
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(q.Name, false, false, false)
			_ = ch.Close()
		}
	}()
	if err := pub.Confirm(false); err != nil {
		return Result{}, fmt.Errorf("bench confirm mode: %w", err)
	}
	sub, err := conn.Channel()
	if err != nil {
		return Result{}, fmt.Errorf("bench consumer channel: %w", err)
	}
	if err := sub.Qos(cfg.Prefetch, 0, false); err != nil {
		return Result{}, fmt.Errorf("bench qos: %w", err)
	}
	deliveries, err := sub.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		return Result{}, fmt.Errorf("bench consume: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var consumed atomic.Int64
	consumerDone := make(chan error, 1)
	go func() {
		for consumed.Load() < int64(cfg.Messages) {
			select {
			case d, ok := <-deliveries:
				if !ok {
					consumerDone <- errors.New("bench: delivery channel closed")
					return
				}
				if err := d.Ack(false); err != nil {
					consumerDone <- fmt.Errorf("bench ack: %w", err)
					return
				}
				consumed.Add(1)
			case <-ctx.Done():
				consumerDone <- ctx.Err()
				return
			}
		}
		consumerDone <- nil
	}()

	body := make([]byte, cfg.Size)
	_, _ = rand.Read(body)
	msg := amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/octet-stream", Body: body}
	inflight := make([]*amqp.DeferredConfirmation, 0, cfg.Window)
	waitOldest := func() error {
		ok, err := inflight[0].WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("bench confirm: %w", err)
		}
		if !ok {
			return errors.New("bench: broker nacked a publish")
		}
		inflight = inflight[1:]
		return nil
	}
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() {
		for i := 0; i < cfg.Messages; i++ {
			if len(inflight) == cfg.Window {
				if err := waitOldest(); err != nil {
					pubErr <- err
					return
				}
			}
			dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, "", q.Name, false, false, msg)
			if err != nil {
				pubErr <- fmt.Errorf("bench publish: %w", err)
				return
			}
			inflight = append(inflight, dc)
		}
		for len(inflight) > 0 {
			if err := waitOldest(); err != nil {
				pubErr <- err
				return
			}
		}
		pubErr <- nil
	}()

	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var pubDone bool
	for {
		select {
		case err := <-pubErr:
			if err != nil {
				cancel()
				<-consumerDone
				return Result{}, err
			}
			pubDone = true
			pubErr = nil
		case err := <-consumerDone:
			elapsed := time.Since(start)
			if err != nil {
				cancel()
				if !pubDone {
					<-pubErr
				}
				return Result{}, err
			}
			if !pubDone {
				if err := <-pubErr; err != nil {
					return Result{}, err
				}
			}
			if cfg.Progress != nil {
				cfg.Progress(cfg.Messages)
			}
			return Result{Messages: cfg.Messages, Elapsed: elapsed}, nil
		case <-tick.C:
			if cfg.Progress != nil {
				cfg.Progress(int(consumed.Load()))
			}
		}
	}
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Direct, Proxied []Result
	// DirectRate and ProxiedRate are the medians in msg/s.
	DirectRate, ProxiedRate float64
	// Ratio is ProxiedRate / DirectRate.
	Ratio float64
}

// Side names which link a round measures.
type Side string

const (
	SideDirect  Side = "direct"
	SideProxied Side = "proxied"
)

// Compare runs rounds of cfg against directURL and proxiedURL alternately
// (any proxy: the embedded Toxiproxy, the AMQP message proxy, or both
// chained). progress, if set, hears each round's side, number and
// consumed count.
func Compare(ctx context.Context, directURL, proxiedURL string, cfg Config, rounds int, progress func(side Side, round, consumed int)) (Comparison, error) {
	res, err := Rounds(ctx, rounds, []Side{SideDirect, SideProxied}, func(ctx context.Context, side Side, r int) (Result, error) {
		run := cfg
		run.AMQPURL = directURL
		if side == SideProxied {
			run.AMQPURL = proxiedURL
		}
		if progress != nil {
			run.Progress = func(n int) { progress(side, r, n) }
		}
		return Run(ctx, run)
	})
	c := Comparison{Direct: res[SideDirect], Proxied: res[SideProxied]}
	if err != nil {
		return c, err
	}
	c.DirectRate, c.ProxiedRate = MedianRate(c.Direct), MedianRate(c.Proxied)
	if c.DirectRate > 0 {
		c.Ratio = c.ProxiedRate / c.DirectRate
	}
	return c, nil
}

// Rounds measures every side in turn, round after round (a, b, a, b, …),
// so that drift on a shared machine hits all sides alike, and returns each
// side's results in round order. Rounds are numbered from 1. The first
// error stops it, named with its side and round; the results so far are
// returned with it.
func Rounds[R any, S ~string](ctx context.Context, rounds int, sides []S, measure func(ctx context.Context, side S, round int) (R, error)) (map[S][]R, error) {
	out := make(map[S][]R, len(sides))
	if rounds < 1 {
		return out, fmt.Errorf("bench: %d rounds: want at least 1", rounds)
	}
	for r := 1; r <= rounds; r++ {
		for _, side := range sides {
			res, err := measure(ctx, side, r)
			if err != nil {
				return out, fmt.Errorf("%s round %d: %w", side, r, err)
			}
			out[side] = append(out[side], res)
		}
	}
	return out, nil
}

// MedianRate is the median of the results' rates in msg/s; 0 for none.
func MedianRate[R interface{ Rate() float64 }](rs []R) float64 {
	rates := make([]float64, len(rs))
	for i, r := range rs {
		rates[i] = r.Rate()
	}
	slices.Sort(rates)
	n := len(rates)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return rates[n/2]
	}
	return (rates[n/2-1] + rates[n/2]) / 2
}
