// Package throughput measures persistent, confirmed publish→consume
// throughput over one AMQP URL, and compares two URLs (direct and through a
// proxy) in the same run.
//
// # Design
//
// One connection, two channels: a publisher in confirm mode that keeps at
// most ConfirmWindow publishes unconfirmed, and a consumer with prefetch
// Prefetch that acks every delivery. Messages are Size bytes, persistent,
// to a durable queue. The clock runs from the first publish to the last
// delivery and the last confirm. This is the reference workload of
// known-facts.md (30,000 × 512 bytes, window 256, prefetch 200).
//
// Compare alternates the URLs round by round (A, B, A, B, ...) so that
// background load on a shared machine hits both alike, and reports medians.
//
// # Best practices
//
//   - Use at least three rounds; report both rates and the ratio, never one
//     rate alone.
//   - Run on an idle machine: the broker, the proxy and the clients share
//     the CPUs.
package throughput

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Config describes one workload.
type Config struct {
	Messages      int // default 30000
	Size          int // body bytes, default 512
	ConfirmWindow int // default 256
	Prefetch      int // default 200
	// Queue is the queue to use (declared durable, purged before, deleted
	// after); default "tflab.throughput.<unix nanos>".
	Queue string
}

func (c *Config) setDefaults() {
	if c.Messages == 0 {
		c.Messages = 30000
	}
	if c.Size == 0 {
		c.Size = 512
	}
	if c.ConfirmWindow == 0 {
		c.ConfirmWindow = 256
	}
	if c.Prefetch == 0 {
		c.Prefetch = 200
	}
	if c.Queue == "" {
		c.Queue = "tflab.throughput." + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	if c.Messages < 0 || c.Size < 0 || c.ConfirmWindow < 0 || c.Prefetch < 0 {
		errs = append(errs, errors.New("messages, size, confirm window and prefetch must be >= 0"))
	}
	if c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("prefetch %d: at most 65535", c.Prefetch))
	}
	return errors.Join(errs...)
}

// Result is one measured run.
type Result struct {
	Messages int           `json:"messages"`
	Elapsed  time.Duration `json:"elapsed"`
	// Rate is messages per second, publish to consume.
	Rate float64 `json:"rate"`
}

// Run measures the workload against url.
func Run(ctx context.Context, url string, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("throughput config: %w", err)
	}
	cfg.setDefaults()
	conn, err := amqp.Dial(url)
	if err != nil {
		return Result{}, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	pub, err := conn.Channel()
	if err != nil {
		return Result{}, fmt.Errorf("publisher channel: %w", err)
	}
	if _, err := pub.QueueDeclare(cfg.Queue, true, false, false, false, nil); err != nil {
		return Result{}, fmt.Errorf("declare %s: %w", cfg.Queue, err)
	}
	defer func() { _, _ = pub.QueueDelete(cfg.Queue, false, false, false) }()
	if _, err := pub.QueuePurge(cfg.Queue, false); err != nil {
		return Result{}, fmt.Errorf("purge %s: %w", cfg.Queue, err)
	}
	if err := pub.Confirm(false); err != nil {
		return Result{}, fmt.Errorf("confirm.select: %w", err)
	}
	sub, err := conn.Channel()
	if err != nil {
		return Result{}, fmt.Errorf("consumer channel: %w", err)
	}
	if err := sub.Qos(cfg.Prefetch, 0, false); err != nil {
		return Result{}, fmt.Errorf("qos: %w", err)
	}
	deliveries, err := sub.ConsumeWithContext(ctx, cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		return Result{}, fmt.Errorf("consume: %w", err)
	}

	body := make([]byte, cfg.Size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	consumed := make(chan error, 1)
	start := time.Now()
	go func() {
		for n := 0; n < cfg.Messages; n++ {
			select {
			case d, ok := <-deliveries:
				if !ok {
					consumed <- fmt.Errorf("deliveries ended after %d of %d", n, cfg.Messages)
					return
				}
				if err := d.Ack(false); err != nil {
					consumed <- fmt.Errorf("ack: %w", err)
					return
				}
			case <-ctx.Done():
				consumed <- ctx.Err()
				return
			}
		}
		consumed <- nil
	}()

	window := make([]*amqp.DeferredConfirmation, 0, cfg.ConfirmWindow)
	wait := func(dc *amqp.DeferredConfirmation) error {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		if !ok {
			return errors.New("broker nacked a publish")
		}
		return nil
	}
	for i := 0; i < cfg.Messages; i++ {
		if len(window) == cfg.ConfirmWindow {
			if err := wait(window[0]); err != nil {
				return Result{}, err
			}
			window = window[1:]
		}
		dc, err := pub.PublishWithDeferredConfirmWithContext(ctx, "", cfg.Queue, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: body})
		if err != nil {
			return Result{}, fmt.Errorf("publish %d: %w", i, err)
		}
		window = append(window, dc)
	}
	for _, dc := range window {
		if err := wait(dc); err != nil {
			return Result{}, err
		}
	}
	if err := <-consumed; err != nil {
		return Result{}, err
	}
	el := time.Since(start)
	return Result{Messages: cfg.Messages, Elapsed: el, Rate: float64(cfg.Messages) / el.Seconds()}, nil
}

// Comparison is the outcome of Compare.
type Comparison struct {
	A, B []Result `json:"-"`
	// MedianA and MedianB are the median rates (msg/s).
	MedianA float64 `json:"median_a"`
	MedianB float64 `json:"median_b"`
	// Ratio is MedianB / MedianA.
	Ratio float64 `json:"ratio"`
}

// Compare runs the workload rounds times against each URL, alternating.
func Compare(ctx context.Context, urlA, urlB string, rounds int, cfg Config) (Comparison, error) {
	if rounds < 1 {
		rounds = 1
	}
	var c Comparison
	for i := range rounds {
		a, err := Run(ctx, urlA, cfg)
		if err != nil {
			return c, fmt.Errorf("round %d, A: %w", i+1, err)
		}
		b, err := Run(ctx, urlB, cfg)
		if err != nil {
			return c, fmt.Errorf("round %d, B: %w", i+1, err)
		}
		c.A, c.B = append(c.A, a), append(c.B, b)
	}
	c.MedianA, c.MedianB = median(c.A), median(c.B)
	c.Ratio = c.MedianB / c.MedianA
	return c, nil
}

func median(rs []Result) float64 {
	rates := make([]float64, len(rs))
	for i, r := range rs {
		rates[i] = r.Rate
	}
	slices.Sort(rates)
	n := len(rates)
	if n%2 == 1 {
		return rates[n/2]
	}
	return (rates[n/2-1] + rates[n/2]) / 2
}
