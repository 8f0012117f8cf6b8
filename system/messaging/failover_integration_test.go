//go:build integration

package messaging

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

// A bus connected to node 1 of a two-node cluster, with node 2 as its
// fallback, keeps working when node 1 is killed under load: both
// connections move to node 2, declare the topology there again, and every
// message the service wrote to its outbox is handled exactly once (the
// outbox republishes what node 1 never confirmed, the inbox absorbs the
// copies). The queues live on node 2 (declared there first), as a mirrored
// or quorum queue would survive there; a classic queue whose node died
// cannot be declared again anywhere.
func TestReconnectsToAnotherNodeWhenItsNodeDies(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	node1, node2 := startTwoNodes(ctx, t, "tflabfo")

	q := labtest.UniqueName(t, "failover")
	db := openStore(t)
	cfg := testConfig(t, node1.AMQPURL(), AllProtections()).withTopology(queueTopology(q))
	cfg.Fallbacks = []string{node2.AMQPURL()}
	declareOn(t, node2.AMQPURL(), cfg.Topology.Merge(RetryTopology(q, cfg.Retry.Delay, false)))
	b, err := New(cfg, db, WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	b.Consume(q, ConsumerConfig{Prefetch: 20})
	b.Handle(q, "Load", effectHandler)
	runBus(t, b)

	const total = 600
	var written atomic.Int64
	loadDone := make(chan error, 1)
	go func() {
		for i := range total {
			m := MustMessage("Load", map[string]int{"n": i})
			if err := b.InTx(ctx, func(ctx context.Context, tx *Tx) error { return tx.Publish(ctx, ToQueue(q), m) }); err != nil {
				loadDone <- fmt.Errorf("message %d: %w", i, err)
				return
			}
			written.Add(1)
			time.Sleep(2 * time.Millisecond) // pacing of the load, not synchronization
		}
		loadDone <- nil
	}()
	waitFor(t, 30*time.Second, "a first part of the load handled", func() bool { return b.Stats().Handled >= 100 })
	if err := node1.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 killed after %d messages written, %d handled", written.Load(), b.Stats().Handled)
	if err := <-loadDone; err != nil {
		t.Fatalf("writing the load: %v", err)
	}
	labtest.Eventually(t, 90*time.Second, func() error {
		if n := count(t, db, `SELECT COUNT(DISTINCT msg_id) FROM effects`); n != total {
			return fmt.Errorf("%d of %d messages handled", n, total)
		}
		return nil
	})
	if n := count(t, db, `SELECT COUNT(*) FROM effects`); n != total {
		t.Errorf("%d effects for %d messages: a message was handled more than once", n, total)
	}
	if got := [2]int{b.pconn.Address(), b.cconn.Address()}; got != [2]int{1, 1} {
		t.Errorf("producer and consumer on addresses %v; want both on the fallback (1)", got)
	}
	if s := b.Stats(); s.Reconnects < 2 {
		t.Errorf("Reconnects = %d; want both connections reconnected", s.Reconnects)
	}
}

// declareOn declares topo through a connection to amqpURL.
func declareOn(t *testing.T, amqpURL string, topo Topology) {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Declare(ch); err != nil {
		t.Fatal(errors.Join(errors.New("declare on node 2"), err))
	}
}

// A classic queue whose node died is left out of a declaration on the
// surviving node (Declare alone fails there with the broker's 404), its
// bindings too, and what a client then publishes to it is still routed to
// it: the broker confirms it, and it is gone.
func TestDeclareOnSkipsAQueueWhoseNodeIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	node1, node2 := startTwoNodes(ctx, t, "tflabdd")

	gone, kept, ex := labtest.UniqueName(t, "gone"), labtest.UniqueName(t, "kept"), labtest.UniqueName(t, "ex")
	topo := Topology{
		Exchanges: []Exchange{{Name: ex, Kind: Direct}},
		Queues:    []Queue{{Name: gone}, {Name: kept}},
		Bindings:  []Binding{{Source: ex, Destination: gone, Key: "g"}, {Source: ex, Destination: kept, Key: "k"}},
	}
	declareOn(t, node1.AMQPURL(), Topology{Queues: topo.Queues[:1]}) // gone lives on node 1
	declareOn(t, node2.AMQPURL(), topo)                              // kept on node 2
	if err := node1.Kill(); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(node2.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	var skipped []string
	labtest.Eventually(t, 60*time.Second, func() error {
		// Node 2 may not have seen node 1 go yet.
		if skipped, err = topo.DeclareOn(conn); err != nil {
			return err
		}
		if len(skipped) == 0 {
			return errors.New("nothing skipped yet")
		}
		return nil
	})
	if len(skipped) != 1 || skipped[0] != gone {
		t.Fatalf("skipped %v, want [%s]", skipped, gone)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Declare(ch); !QueueNodeDown(err) {
		t.Fatalf("Declare on node 2 = %v, want the broker's home-node-down 404", err)
	}
	ch, err = conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, ex, "g", false, false, amqp.Publishing{Body: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(ctx); err != nil || !ok {
		t.Fatalf("publish to the queue on the dead node: acked %v, %v; want the broker's ack", ok, err)
	}
}

// startTwoNodes starts a disposable two-node cluster named after prefix and
// the process id, stopped when the test ends, and returns its nodes. The
// test skips when LAB_AMQP_URL names an external broker.
func startTwoNodes(ctx context.Context, t *testing.T, prefix string) (node1, node2 *rabbitnode.Node) {
	t.Helper()
	if os.Getenv("LAB_AMQP_URL") != "" {
		t.Skip("LAB_AMQP_URL points at an external broker; this test starts its own two-node cluster")
	}
	cluster, err := rabbitnode.StartCluster(ctx, rabbitnode.Config{
		Name: fmt.Sprintf("%s%d", prefix, os.Getpid()), Dir: t.TempDir(), Disposable: true, Log: labtest.Logger(t),
	}, 2)
	if err != nil {
		t.Fatalf("no RabbitMQ cluster for the test: %v\nfix: install rabbitmq-server (apt-get install -y rabbitmq-server)", err)
	}
	t.Cleanup(func() { _ = cluster.Stop(context.Background()) })
	return cluster.Nodes[0], cluster.Nodes[1]
}
