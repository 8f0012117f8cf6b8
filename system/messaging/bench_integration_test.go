//go:build integration

package messaging

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// benchMessages is the number of messages per measured run (BENCH_MESSAGES overrides).
func benchMessages() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 20000
}

var benchBody = []byte(`{"ticketId":"4f1c2a9e-2b1d-4c55-9a51-1f7c7d1e0a11","version":3,"partitionKey":"4f1c2a9e-2b1d-4c55-9a51-1f7c7d1e0a11","note":"` +
	string(slices.Repeat([]byte("x"), 380)) + `"}`) // about 512 bytes

// BenchmarkOneHop measures messages per second through one protected hop
// (consume → dedup → handler → outbox → relay publish with confirms → ack,
// tracing on with a real SDK provider and a synchronous no-op exporter) and,
// in the same run on the same node, raw amqp091 publish (confirms, window 256)
// + consume (prefetch 200, manual ack). It reports both and their ratio.
//
//	go test -tags integration -run '^$' -bench OneHop -benchtime 3x ./system/messaging
func BenchmarkOneHop(b *testing.B) {
	n := benchMessages()
	var raws, hops []float64
	var cpu []float64
	for range b.N {
		raws = append(raws, rawRate(b, n))
		rate, cpuPerMsg := hopRate(b, n)
		hops = append(hops, rate)
		cpu = append(cpu, cpuPerMsg)
	}
	slices.Sort(cpu)
	b.ReportMetric(cpu[len(cpu)/2], "hop-cpu-µs/msg")
	slices.Sort(raws)
	slices.Sort(hops)
	raw, hop := raws[len(raws)/2], hops[len(hops)/2]
	b.ReportMetric(raw, "raw-msg/s")
	b.ReportMetric(hop, "hop-msg/s")
	b.ReportMetric(hop/raw, "ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d messages per run, medians of %d runs: raw %.0f msg/s, one protected hop %.0f msg/s, ratio %.2f", n, b.N, raw, hop, hop/raw)
}

// cpuTime is the test process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawRate publishes n messages with confirms and consumes them, concurrently.
func rawRate(b *testing.B, n int) float64 {
	q := labtest.UniqueName(b, "rawbench")
	conn, err := amqp.Dial(labtest.AMQPURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	pch, _ := conn.Channel()
	cch, _ := conn.Channel()
	if _, err := pch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	defer func() { _, _ = pch.QueueDelete(q, false, false, false) }()
	if err := pch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	if err := cch.Qos(200, 0, false); err != nil {
		b.Fatal(err)
	}
	dels, err := cch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		got := 0
		for d := range dels {
			_ = d.Ack(false)
			if got++; got == n {
				return
			}
		}
	}()
	window := make([]*amqp.DeferredConfirmation, 0, 256)
	for i := range n {
		dc, err := pch.PublishWithDeferredConfirm("", q, false, false, amqp.Publishing{
			MessageId: strconv.Itoa(i), Type: "Bench", DeliveryMode: amqp.Persistent, ContentType: ContentTypeJSON, Body: benchBody,
		})
		if err != nil {
			b.Fatal(err)
		}
		if window = append(window, dc); len(window) == cap(window) {
			for _, w := range window {
				if !w.Wait() {
					b.Fatal("nacked")
				}
			}
			window = window[:0]
		}
	}
	for _, w := range window {
		w.Wait()
	}
	select {
	case <-consumed:
	case <-time.After(2 * time.Minute):
		b.Fatal("raw consume did not finish")
	}
	return float64(n) / time.Since(start).Seconds()
}

// hopRate preloads n messages, then times the bus consuming each, handling
// it in a transaction that writes an effect and an outbox row, relaying it
// to the next queue and acking, until all n arrived in the next queue.
func hopRate(b *testing.B, n int) (rate, cpuMicrosPerMsg float64) {
	in, out := labtest.UniqueName(b, "hopin"), labtest.UniqueName(b, "hopout")
	ch := rawChannel(b)
	for _, q := range []string{in, out} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		_, _ = ch.QueueDelete(in, false, false, false)
		_, _ = ch.QueueDelete(out, false, false, false)
	}()
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		m := Message{ID: NewID(), Type: "TicketChanged", Body: benchBody, AggregateID: fmt.Sprintf("t-%d", i%500)}
		if _, err := ch.PublishWithDeferredConfirm("", in, false, false, m.Publishing(nil)); err != nil {
			b.Fatal(err)
		}
	}
	// Wait for the preload to be in the queue (not timed).
	labtest.Eventually(b, time.Minute, func() error {
		q, err := ch.QueueDeclarePassive(in, true, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		if q.Messages < n {
			return fmt.Errorf("%d of %d preloaded", q.Messages, n)
		}
		return nil
	})

	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	db := openStore(b)
	cfg := testConfig(b, labtest.AMQPURL(b), AllProtections()).withTopology(queueTopology(in, out))
	cfg.Publisher.ConfirmTimeout = 10 * time.Second
	bus, err := New(cfg, db, WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	bus.Consume(in, ConsumerConfig{Prefetch: 200, Concurrency: 32})
	bus.Handle(in, "TicketChanged", func(ctx context.Context, tx *Tx, d *Delivery) error {
		tx.Effect("effect:" + d.ID)
		if _, err := tx.Exec(ctx, `INSERT INTO effects (key, msg_id) VALUES (?, ?)`, "effect:"+d.ID, d.ID); err != nil {
			return err
		}
		return tx.Publish(ctx, ToQueue(out), Message{Type: "TicketSeen", Body: d.Body})
	})

	cconn, err := amqp.Dial(labtest.AMQPURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer cconn.Close()
	cch, _ := cconn.Channel()
	_ = cch.Qos(500, 0, false)
	dels, err := cch.Consume(out, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	var arrived atomic.Int64
	all := make(chan struct{})
	go func() {
		for range dels {
			if arrived.Add(1) == int64(n) {
				close(all)
			}
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if path := os.Getenv("BENCH_HOP_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	start, cpu0 := time.Now(), cpuTime()
	go func() { done <- bus.Run(ctx) }()
	go func() {
		for range 20 {
			time.Sleep(500 * time.Millisecond)
			s := bus.Stats()
			b.Logf("%s handled=%d relayed=%d confirmed=%d arrived=%d", time.Since(start), s.Handled, s.RelayPublished, s.Confirmed, arrived.Load())
		}
	}()
	select {
	case <-all:
	case <-time.After(3 * time.Minute):
		b.Fatalf("only %d of %d relayed; stats %+v", arrived.Load(), n, bus.Stats())
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	st := db.Stats()
	b.Logf("group commit: %d calls in %d batches (%.1f per batch)", st.Calls, st.Batches, float64(st.Calls)/float64(max(st.Batches, 1)))
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if s := bus.Stats(); s.Handled != int64(n) {
		b.Fatalf("handled %d, want %d (stats %+v)", s.Handled, n, s)
	}
	return float64(n) / elapsed.Seconds(), float64(cpu.Microseconds()) / float64(n)
}
