//go:build integration

package run

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/messaging"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func managementOf(t *testing.T) (*anomalies.Management, string) {
	t.Helper()
	b := labtest.SharedBroker(t)
	if b.ManagementURL == "" {
		t.Skip("the broker has no management API")
	}
	return &anomalies.Management{URL: b.ManagementURL}, b.AMQPURL
}

func dialNamed(t *testing.T, url, name string) *amqp.Connection {
	t.Helper()
	c, err := amqp.DialConfig(url, amqp.Config{Properties: amqp.Table{"connection_name": name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The watcher sees a client reconnect through the real management API.
func TestWatcherSeesAReconnectOnTheBroker(t *testing.T) {
	m, url := managementOf(t)
	name := labtest.UniqueName(t, "svc") + "-svc-consumer"
	first := dialNamed(t, url, name)
	w := newWatcher(m, time.Hour, labtest.Logger(t))
	labtest.Eventually(t, 10*time.Second, func() error {
		w.poll(t.Context())
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, o := range w.opened {
			if o.client == name {
				return nil
			}
		}
		return fmt.Errorf("connection %s not seen in %d polls", name, w.polls)
	})
	since := time.Now()
	_ = first.Close()
	dialNamed(t, url, name)
	labtest.Eventually(t, 10*time.Second, func() error {
		w.poll(t.Context())
		if got := w.counters(since)["connections.reopened"]; got < 1 {
			return fmt.Errorf("connections.reopened = %v", got)
		}
		return nil
	})
}

// Ready counts come from passive declares; dead-letter queues are skipped
// by the quiescence check and read back without being consumed.
func TestQueueProbeAndDeadLetterPeek(t *testing.T) {
	m, url := managementOf(t)
	c := dialNamed(t, url, "test-setup")
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := labtest.UniqueName(t, "work")
	dlq := messaging.DeadLetterQueueName(q)
	for _, n := range []string{q, dlq} {
		if _, err := ch.QueueDeclare(n, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	pub := func(queue, id string) {
		if err := ch.PublishWithContext(t.Context(), "", queue, false, false, amqp.Publishing{MessageId: id, Type: "TicketResolved",
			Headers: amqp.Table{messaging.HeaderLastError: "boom"}, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	pub(q, "w1")
	pub(dlq, "d1")
	probe := queueProbe{amqpURL: url, m: m}
	labtest.Eventually(t, 10*time.Second, func() error {
		pending, err := probe.pending(t.Context())
		if err != nil {
			return err
		}
		for _, p := range pending {
			if p.Name == dlq {
				return fmt.Errorf("the dead-letter queue counts as pending: %v", pending)
			}
			if p.Name == q && p.Ready == 1 {
				return nil
			}
		}
		return fmt.Errorf("pending %v, want %s with 1 ready", pending, q)
	})
	raw, err := peekDeadLetters(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range raw {
		if r.dl.Queue == dlq {
			found = r.origin == q && r.dl.MessageID == "d1" && r.dl.MessageType == "TicketResolved" && r.dl.Reason == "boom"
		}
	}
	if !found {
		t.Fatalf("dead letters %+v", raw)
	}
	ready, err := readyCounts(t.Context(), url, []string{dlq, "no-such-queue-" + q})
	if err != nil || ready[dlq] != 1 {
		t.Fatalf("the peek consumed the dead letter: %v %v", ready, err)
	}
}

// The last read of the connections lists a connection opened a moment
// before it, which the management API lists only after the node's next
// statistics collection: it waits for its marker connection.
func TestLastConnectionsListsAConnectionJustOpened(t *testing.T) {
	m, url := managementOf(t)
	w := newWatcher(m, time.Hour, labtest.Logger(t))
	w.poll(t.Context())
	since := time.Now()
	name := labtest.UniqueName(t, "svc") + "-svc-publisher"
	dialNamed(t, url, name)
	ctx, cancel := context.WithTimeout(t.Context(), lastConnectionsTimeout)
	defer cancel()
	nodes := []broker.Node{{Name: "shared", AMQPURL: url, ManagementURL: m.URL}}
	if err := lastConnections(ctx, w, nodes, nodeAPIs(m, nodes), 100*time.Millisecond, dialMarker); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.opened {
		if o.client == name && !o.at.Before(since.Truncate(time.Millisecond)) {
			return
		}
	}
	t.Fatalf("connection %s, opened before the last read, not listed by it", name)
}

// The management API goes on showing a delivery as unacked for a while after
// its ack: the holdings watch a queue that shows unacked deliveries for
// unackedWindow, so one acked just before they are read is not held, while
// one that stays unacked is.
func TestHoldingsDoNotHoldADeliveryAckedAMomentAgo(t *testing.T) {
	m, url := managementOf(t)
	c := dialNamed(t, url, "test-consumer")
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := labtest.UniqueName(t, "acked")
	if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	probe := queueProbe{amqpURL: url, m: m}
	getUnacked := func() amqp.Delivery {
		t.Helper()
		if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		var d amqp.Delivery
		labtest.Eventually(t, 10*time.Second, func() error {
			var ok bool
			if d, ok, err = ch.Get(q, false); err != nil || !ok {
				return fmt.Errorf("get: %v, %v", ok, err)
			}
			return nil
		})
		// Ack only once the statistics show the delivery: the next
		// statistics show the ack.
		labtest.Eventually(t, 20*time.Second, func() error {
			qs, err := m.Queues(t.Context())
			for _, x := range qs {
				if x.Name == q && x.Unacked == 1 {
					return nil
				}
			}
			return fmt.Errorf("%s not shown unacked yet (%v)", q, err)
		})
		return d
	}

	d := getUnacked()
	if err := d.Ack(false); err != nil {
		t.Fatal(err)
	}
	least, err := probe.leastHeld(t.Context(), 250*time.Millisecond, holdingsWindow, unackedWindow)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := least[q]; ok {
		t.Errorf("a delivery acked before the holdings were read is held: %+v", h)
	}

	d = getUnacked()
	least, err = probe.leastHeld(t.Context(), 250*time.Millisecond, holdingsWindow, unackedWindow)
	if err != nil {
		t.Fatal(err)
	}
	if h := least[q]; h.Unacked != 1 {
		t.Errorf("a delivery still unacked is not held: %+v", h)
	}
	_ = d.Ack(false)
}
