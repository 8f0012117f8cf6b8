//go:build integration

package anomalies

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// TestMessageDuplicatesADeliveryUntilHealed drives a real broker through a
// message proxy mounted the way the lab API mounts it: the rule the
// executor installs duplicates one delivery, the heal removes it and counts
// the duplicate as evidence.
func TestMessageDuplicatesADeliveryUntilHealed(t *testing.T) {
	env, p, url := proxiedCommunication(t)
	_, ch := labtest.Channel(t, url)
	q, err := ch.QueueDeclare(labtest.UniqueName(t, "q"), false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(id, typ string) {
		t.Helper()
		if err := ch.PublishWithContext(t.Context(), "", q.Name, false, false, amqp.Publishing{MessageId: id, Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(n int) []string {
		t.Helper()
		var ids []string
		for range n {
			select {
			case d := <-deliveries:
				if err := d.Ack(false); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, d.MessageId)
			case <-time.After(10 * time.Second):
				t.Fatalf("got %v, then nothing within 10 s", ids)
			}
		}
		return ids
	}

	m := &Message{Env: env, Service: "communication", Fault: "duplicate-delivery", MessageType: "TicketResolved", Count: 1}
	h, err := m.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	publish("a", "TicketCreated")
	publish("b", "TicketResolved")
	publish("c", "TicketResolved")
	if got := receive(4); len(got) != 4 || got[0] != "a" || got[1] != "b" || got[2] != "b" || got[3] != "c" {
		t.Fatalf("deliveries %v, want a b b c (one TicketResolved duplicated)", got)
	}
	hctx, cancel := HealContext(t.Context(), 5*time.Second)
	defer cancel()
	if err := h.Heal(hctx); err != nil {
		t.Fatal(err)
	}
	if got := env.Evidence.Counters()[CounterProxyDeliveriesDuplicated]; got != 1 {
		t.Fatalf("%s = %v, want 1", CounterProxyDeliveriesDuplicated, got)
	}
	if len(p.Rules()) != 0 {
		t.Fatalf("rules left after heal: %+v", p.Rules())
	}
	// With the limit lifted nothing would stop a duplicate: after the heal
	// the next two pass once each.
	publish("d", "TicketResolved")
	publish("e", "TicketResolved")
	if got := receive(2); got[0] != "d" || got[1] != "e" {
		t.Fatalf("deliveries after heal %v, want d e", got)
	}
}

// TestMessageDropAckHealWaitsForTheAckTimeout heals a drop-ack rule right
// after it swallowed an ack: the heal returns only once the ack timeout
// closed the consumer's channel, and counts it.
func TestMessageDropAckHealWaitsForTheAckTimeout(t *testing.T) {
	env, p, url := proxiedCommunication(t)
	conn, ch := labtest.Channel(t, url)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	// Exclusive, not auto-delete: the queue must outlive the consumer whose
	// channel the ack timeout closes.
	q, err := ch.QueueDeclare(labtest.UniqueName(t, "q"), false, false, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	timeout := time.Second
	m := &Message{Env: env, Service: "communication", Fault: "drop-ack", MessageType: "TicketResolved", Count: 1, AckTimeout: &timeout}
	h, err := m.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2"} {
		if err := ch.PublishWithContext(t.Context(), "", q.Name, false, false, amqp.Publishing{MessageId: id, Type: "TicketResolved"}); err != nil {
			t.Fatal(err)
		}
	}
	var acked time.Time
	select {
	case d := <-deliveries:
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
		acked = time.Now()
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		if n := p.Count(amqpproxy.DropAck); n != 1 {
			return fmt.Errorf("%d acks dropped, want 1", n)
		}
		return nil
	})
	hctx, cancel := HealContext(t.Context(), 30*time.Second)
	defer cancel()
	if err := h.Heal(hctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(acked); waited < timeout {
		t.Fatalf("heal returned %s after the ack, before the ack timeout of %s", waited, timeout)
	}
	c := env.Evidence.Counters()
	if c[CounterProxyAcksDropped] != 1 || c[CounterProxyAckTimeouts] != 1 {
		t.Fatalf("counters %v, want 1 ack dropped and 1 ack timeout", c)
	}
	select {
	case err := <-closed:
		if err == nil || err.Code != 406 {
			t.Fatalf("channel closed with %v, want 406", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the consumer's channel was not closed")
	}
	// The broker requeued r1: a new channel gets it back, redelivered.
	ch2, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ch2.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-again:
		if d.MessageId != "r1" || !d.Redelivered {
			t.Fatalf("after the ack timeout: %q redelivered=%v, want r1 redelivered", d.MessageId, d.Redelivered)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("r1 not redelivered within 10 s")
	}
}

// proxiedCommunication is a message proxy in front of the test broker,
// mounted the way the lab API mounts it for an instance "communication":
// the Env, the proxy, and the AMQP URL through it.
func proxiedCommunication(t *testing.T) (*Env, *amqpproxy.Proxy, string) {
	t.Helper()
	b := labtest.SharedBroker(t)
	upstream, err := broker.HostPort(b.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := amqpproxy.New(amqpproxy.Config{Upstream: upstream, Log: labtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	mux := http.NewServeMux()
	mux.Handle("/services/communication/", http.StripPrefix("/services/communication", p.Handler()))
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	env := &Env{LabAPI: api.URL, Evidence: NewEvidence(), Log: labtest.Logger(t),
		Instances: []Instance{{Service: "communication", ID: "communication", Number: 1}}}

	url, err := broker.WithHost(b.AMQPURL, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return env, p, url
}
