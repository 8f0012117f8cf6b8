//go:build integration

package messaging

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// Unroutable mandatory publishes come back and are counted, never dropped silently.
func TestReturnedMessagesAreCounted(t *testing.T) {
	ex := labtest.UniqueName(t, "nowhere")
	b, err := New(testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(Topology{
		Exchanges: []Exchange{{Name: ex, Kind: Topic}},
	}), openStore(t), WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.pconn.Close() }()
	if err := b.Publisher().Publish(t.Context(), To(ex, "no.binding"), MustMessage("Lost", struct{}{})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a returned message", func() bool { return b.Stats().Returned == 1 })
}

// Messages of a type nobody handles are acked, counted and dropped.
func TestUnknownTypeIsAckedAndCounted(t *testing.T) {
	q := labtest.UniqueName(t, "unknown")
	db := openStore(t)
	b, err := New(testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q)), db, WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	b.Handle(q, "Known", effectHandler)
	runBus(t, b)
	ch := rawChannel(t)
	publishRaw(t, ch, q, MustMessage("Stranger", struct{}{}))
	waitFor(t, 5*time.Second, "the unknown type counted", func() bool { return b.Stats().UnknownType == 1 })
	publishRaw(t, ch, q, MustMessage("Known", struct{}{}))
	waitFor(t, 5*time.Second, "the known type handled", func() bool { return b.Stats().Handled == 1 })
	if s := b.Stats(); s.Delivered != 2 || s.DeadLettered != 0 || s.Requeued != 0 {
		t.Fatalf("stats %+v", s)
	}
	if n := len(drain(t, ch, q)); n != 0 {
		t.Fatalf("%d messages left in the queue", n)
	}
}

// Shutdown lets an in-flight handling finish, commit and ack: nothing is
// redelivered to the next consumer.
func TestGracefulShutdownFinishesInFlightWork(t *testing.T) {
	q := labtest.UniqueName(t, "graceful")
	db := openStore(t)
	cfg := testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q))
	b, err := New(cfg, db, WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	b.Handle(q, "Slow", func(ctx context.Context, tx *Tx, d *Delivery) error {
		close(started)
		<-release
		return effectHandler(ctx, tx, d)
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Ready()
	m := MustMessage("Slow", struct{}{})
	publishRaw(t, rawChannel(t), q, m)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler not started")
	}
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a handling was in flight", err)
	case <-time.After(200 * time.Millisecond): // Run must still be waiting: this bounds how long we look, it does not synchronize
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after the handling finished")
	}
	if n := count(t, db, `SELECT COUNT(*) FROM effects WHERE msg_id = ?`, m.ID); n != 1 {
		t.Fatalf("effect committed %d times", n)
	}
	if s := b.Stats(); s.AckFailed != 0 {
		t.Fatalf("ack failed: %+v", s)
	}
	// A fresh consumer finds nothing to redo.
	ch := rawChannel(t)
	if n := len(drain(t, ch, q)); n != 0 {
		t.Fatalf("%d messages back in the queue after a graceful stop", n)
	}
}

// After a lost connection the topology is declared again before use.
func TestTopologyRedeclaredOnReconnect(t *testing.T) {
	q := labtest.UniqueName(t, "redeclare")
	db := openStore(t)
	b, err := New(testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q)), db, WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	b.Handle(q, "Thing", func(ctx context.Context, tx *Tx, d *Delivery) error {
		handled.Add(1)
		return nil
	})
	runBus(t, b)
	ch := rawChannel(t)
	// The broker loses the queue (and with it the consumer), then the link drops.
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	b.cconn.Reset()
	labtest.Eventually(t, 10*time.Second, func() error {
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			ch = rawChannel(t) // a failed passive declare closes the channel
			return errors.New("queue not declared again")
		}
		return nil
	})
	publishRaw(t, ch, q, MustMessage("Thing", struct{}{}))
	waitFor(t, 10*time.Second, "handled on the redeclared queue", func() bool { return handled.Load() == 1 })
	if b.Stats().Reconnects < 1 {
		t.Fatal("no reconnect counted")
	}
}

// Connected is live: false while the link is down, true again once both
// connections are back, also for a producer connection that publishes
// nothing in between (it is held up, not dialled on demand).
func TestConnectedFollowsTheLink(t *testing.T) {
	viaProxy, proxy := proxied(t)
	q := labtest.UniqueName(t, "connected")
	b, err := New(testConfig(t, viaProxy, AllProtections()).withTopology(queueTopology(q)), openStore(t), WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	b.Handle(q, "Thing", effectHandler)
	if b.Connected() {
		t.Fatal("connected before Run")
	}
	runBus(t, b)
	waitFor(t, 10*time.Second, "both connections up after start", b.Connected)
	if !b.pconn.Connected() {
		t.Fatal("producer connection not opened at start")
	}
	gen := b.pconn.Generation()
	if err := proxy.Disable(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "disconnected while the link is down", func() bool { return !b.Connected() })
	if err := proxy.Enable(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "connected again after the link returned", b.Connected)
	if b.pconn.Generation() <= gen {
		t.Fatalf("producer connection generation %d, want a reconnect after %d", b.pconn.Generation(), gen)
	}
}
