//go:build integration

package anomalies

import (
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
	b := labtest.SharedBroker(t)
	upstream, err := broker.HostPort(b.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := amqpproxy.New(amqpproxy.Config{Upstream: upstream, Log: labtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mux := http.NewServeMux()
	mux.Handle("/services/communication/", http.StripPrefix("/services/communication", p.Handler()))
	api := httptest.NewServer(mux)
	defer api.Close()
	env := &Env{LabAPI: api.URL, Evidence: NewEvidence(), Log: labtest.Logger(t),
		Instances: []Instance{{Service: "communication", ID: "communication", Number: 1}}}

	url, err := broker.WithHost(b.AMQPURL, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
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
