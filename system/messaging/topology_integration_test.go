//go:build integration

package messaging

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// ticketflowTopology is the original Ticketflow's effective topology on
// master (spec §6.2), with names prefixed by p so runs do not collide.
// deadLetter adds the UseDeadletter variant (§6.3), sac the single active
// consumer on sla-ticket-changes (§6.3).
func ticketflowTopology(p string, deadLetter, sac bool) Topology {
	var t Topology
	ex := func(name, kind string) { t.Exchanges = append(t.Exchanges, Exchange{Name: p + name, Kind: kind}) }
	consumerQueue := func(name string, args amqp.Table) {
		if args == nil {
			args = amqp.Table{}
		}
		if deadLetter {
			dlx := p + name + "-dlq-exchange"
			args["x-dead-letter-exchange"] = dlx
			t.Exchanges = append(t.Exchanges, Exchange{Name: dlx, Kind: Topic})
			t.Queues = append(t.Queues, Queue{Name: p + name + "-dlq"})
			t.Bindings = append(t.Bindings, Binding{Source: dlx, Destination: p + name + "-dlq", Key: "#"})
		}
		t.Queues = append(t.Queues, Queue{Name: p + name, Args: args})
	}
	bind := func(src, dst, key string) {
		t.Bindings = append(t.Bindings, Binding{Source: p + src, Destination: p + dst, Key: key})
	}
	for _, e := range []string{"inquiry-submitted-exchange", "translation-completed-exchange", "deadlines-calculated-exchange",
		"request-translation-v1-exchange", "request-translation-v2-exchange"} {
		ex(e, Direct)
	}
	for _, e := range []string{"tickets-exchange", "sla-exchange", "alerting", "anomalies-sync", "metrics-exchange"} {
		ex(e, Topic)
	}
	// Conventional queues (Tickets, Translations initializers).
	for _, q := range [][2]string{
		{"inquiry-submitted-tickets-service-queue", "inquiry-submitted-exchange"},
		{"translation-completed-tickets-service-queue", "translation-completed-exchange"},
		{"deadlines-calculated-tickets-service-queue", "deadlines-calculated-exchange"},
		{"request-translation-v1-translations-service-queue", "request-translation-v1-exchange"},
		{"request-translation-v2-translations-service-queue", "request-translation-v2-exchange"},
	} {
		consumerQueue(q[0], nil)
		bind(q[1], q[0], "")
	}
	// Commands through the default exchange.
	consumerQueue("request-translation-v1-queue", nil)
	consumerQueue("request-translation-v2-queue", nil)
	// Publish-subscribe queues.
	consumerQueue("inquiries-ticket-created", nil)
	bind("tickets-exchange", "inquiries-ticket-created", "ticket-created")
	consumerQueue("tickets-sla-changes", nil)
	bind("sla-exchange", "tickets-sla-changes", "#")
	var slaArgs amqp.Table
	if sac {
		slaArgs = amqp.Table{"x-single-active-consumer": true}
	}
	consumerQueue("sla-ticket-changes", slaArgs)
	bind("tickets-exchange", "sla-ticket-changes", "#")
	consumerQueue("communication-ticket-resolved", nil)
	bind("tickets-exchange", "communication-ticket-resolved", "ticket-resolved")
	consumerQueue("communication-alerts", nil)
	bind("alerting", "communication-alerts", "#")
	// Transient queues, exempt from dead-lettering.
	for _, app := range []string{"tickets-service", "sla-service"} {
		q := "anomalies-sync-" + app + "-0b8f"
		t.Queues = append(t.Queues, Queue{Name: p + q, Args: amqp.Table{"x-expires": int32(60000)}})
		bind("anomalies-sync", q, app)
	}
	t.Queues = append(t.Queues, Queue{Name: p + "live-metrics", Args: amqp.Table{"x-expires": int32(60000)}})
	bind("metrics-exchange", "live-metrics", "#")
	// Exchange-to-exchange alert routing.
	for _, src := range []string{"tickets-exchange", "sla-exchange"} {
		t.Bindings = append(t.Bindings, Binding{Source: p + src, Destination: p + "alerting", Key: "#.alert.#", ToExchange: true})
	}
	return t
}

// partitionedTopology is the UsePartitioningExample variant (§6.4).
func partitionedTopology(p string, n int) Topology {
	t := Topology{Exchanges: []Exchange{
		{Name: p + "tickets-exchange", Kind: Topic},
		{Name: p + "sla-ticket-changes-partitioned-exchange", Kind: ConsistentHash, Args: amqp.Table{"hash-header": HeaderPartitionKey}},
	}, Bindings: []Binding{
		{Source: p + "tickets-exchange", Destination: p + "sla-ticket-changes-partitioned-exchange", Key: "#", ToExchange: true},
	}}
	for i := 1; i <= n; i++ {
		q := fmt.Sprintf("%ssla-ticket-changes-partition-%d", p, i)
		t.Queues = append(t.Queues, Queue{Name: q, Args: amqp.Table{"x-single-active-consumer": true}})
		t.Bindings = append(t.Bindings, Binding{Source: p + "sla-ticket-changes-partitioned-exchange", Destination: q, Key: "1"})
	}
	return t
}

func TestOriginalTicketflowTopologyIsExpressible(t *testing.T) {
	for _, v := range []struct {
		name            string
		deadLetter, sac bool
	}{{"master", false, false}, {"dead-letter and single active consumer", true, true}} {
		t.Run(v.name, func(t *testing.T) {
			p := labtest.UniqueName(t, "tf") + "."
			topo := ticketflowTopology(p, v.deadLetter, v.sac)
			if err := topo.Validate(); err != nil {
				t.Fatal(err)
			}
			ch := rawChannel(t)
			for i := range 2 { // idempotent
				if err := topo.Declare(ch); err != nil {
					t.Fatalf("declaration %d: %v", i+1, err)
				}
			}
			routes := []struct {
				exchange, key string
				want          []string
			}{
				{"inquiry-submitted-exchange", "", []string{"inquiry-submitted-tickets-service-queue"}},
				{"tickets-exchange", "ticket-created", []string{"inquiries-ticket-created", "sla-ticket-changes"}},
				{"tickets-exchange", "ticket-resolved", []string{"communication-ticket-resolved", "sla-ticket-changes"}},
				{"tickets-exchange", "incident-created.alert", []string{"communication-alerts", "sla-ticket-changes"}},
				{"sla-exchange", "s-l-a-breached.alert", []string{"communication-alerts", "tickets-sla-changes"}},
				{"anomalies-sync", "sla-service", []string{"anomalies-sync-sla-service-0b8f"}},
				{"", p + "request-translation-v2-queue", []string{"request-translation-v2-queue"}},
			}
			for _, r := range routes {
				ex := r.exchange
				if ex != "" {
					ex = p + ex
				}
				m := MustMessage("Probe", struct{}{})
				if err := ch.PublishWithContext(t.Context(), ex, r.key, true, false, m.Publishing(nil)); err != nil {
					t.Fatal(err)
				}
				for _, q := range r.want {
					labtest.Eventually(t, 5*time.Second, func() error {
						d, ok, err := ch.Get(p+q, true)
						if err != nil {
							t.Fatal(err)
						}
						if !ok || d.MessageId != m.ID {
							return fmt.Errorf("%s/%q did not reach %s", r.exchange, r.key, q)
						}
						return nil
					})
				}
			}
			if v.deadLetter {
				// A rejected message is dead-lettered to <queue>-dlq.
				q := p + "communication-alerts"
				m := MustMessage("Bad", struct{}{})
				if err := ch.PublishWithContext(t.Context(), p+"alerting", "x", false, false, m.Publishing(nil)); err != nil {
					t.Fatal(err)
				}
				labtest.Eventually(t, 5*time.Second, func() error {
					d, ok, err := ch.Get(q, false)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						return errors.New("not arrived")
					}
					return d.Reject(false)
				})
				labtest.Eventually(t, 5*time.Second, func() error {
					d, ok, err := ch.Get(q+"-dlq", true)
					if err != nil {
						t.Fatal(err)
					}
					if !ok || d.MessageId != m.ID {
						return errors.New("rejected message not dead-lettered")
					}
					return nil
				})
			}
		})
	}
}

func TestTopologyKindsAndConflicts(t *testing.T) {
	p := labtest.UniqueName(t, "kinds") + "."
	topo := Topology{
		Exchanges: []Exchange{{Name: p + "fan", Kind: Fanout}, {Name: p + "hdr", Kind: Headers}},
		Queues:    []Queue{{Name: p + "q-fan", Type: Quorum}, {Name: p + "q-hdr"}},
		Bindings: []Binding{
			{Source: p + "fan", Destination: p + "q-fan"},
			{Source: p + "hdr", Destination: p + "q-hdr", Args: amqp.Table{"x-match": "all", "kind": "alert"}},
		},
	}
	ch := rawChannel(t)
	for range 2 {
		if err := topo.Declare(ch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ch.QueueDeclarePassive(p+"q-fan", true, false, false, false, amqp.Table{"x-queue-type": Quorum}); err != nil {
		t.Fatalf("quorum queue missing: %v", err)
	}
	m := MustMessage("Probe", struct{}{})
	m.Headers = map[string]string{"kind": "alert"}
	if err := ch.PublishWithContext(t.Context(), p+"hdr", "", true, false, m.Publishing(nil)); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		d, ok, err := ch.Get(p+"q-hdr", true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || d.MessageId != m.ID {
			return errors.New("headers exchange did not route")
		}
		return nil
	})
	// Same name, other arguments: the broker refuses, Declare names the entity.
	conflict := Topology{Queues: []Queue{{Name: p + "q-hdr", Args: amqp.Table{"x-max-length": int32(5)}}}}
	err := conflict.Declare(ch)
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.PreconditionFailed || !strings.Contains(err.Error(), p+"q-hdr") {
		t.Fatalf("conflicting declaration: %v", err)
	}
}

// enableConsistentHash turns the plugin on in the test binary's private node
// (as rabbitmq-plugins enable --online does); false when it cannot.
func enableConsistentHash(t *testing.T) bool {
	b := labtest.SharedBroker(t)
	if b.Node == nil {
		return false
	}
	file := filepath.Join(b.Node.Dir(), "enabled_plugins")
	if err := os.WriteFile(file, []byte("[rabbitmq_management,rabbitmq_consistent_hash_exchange].\n"), 0o644); err != nil {
		t.Logf("enable plugin: %v", err)
		return false
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := b.Node.Ctl(ctx, "eval", fmt.Sprintf("rabbit_plugins:ensure(%q).", file))
	if err != nil {
		t.Logf("enable plugin: %v: %s", err, out)
		return false
	}
	return true
}

func TestPartitionedTopology(t *testing.T) {
	p := labtest.UniqueName(t, "part") + "."
	enableConsistentHash(t)
	topo := partitionedTopology(p, 3)
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	ch := rawChannel(t)
	err := topo.Declare(ch)
	var aerr *amqp.Error
	if errors.As(err, &aerr) && aerr.Code == amqp.CommandInvalid {
		t.Skipf("x-consistent-hash exchange type unavailable (rabbitmq_consistent_hash_exchange plugin not enabled on this node): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	ch = rawChannel(t)
	for i := range 30 {
		m := MustMessage("TicketQualified", struct{}{}).WithPartitionKey(fmt.Sprintf("ticket-%d", i%3))
		if err := ch.PublishWithContext(t.Context(), p+"tickets-exchange", "ticket-qualified", true, false, m.Publishing(nil)); err != nil {
			t.Fatal(err)
		}
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		total := 0
		for i := 1; i <= 3; i++ {
			q, err := ch.QueueDeclarePassive(fmt.Sprintf("%ssla-ticket-changes-partition-%d", p, i), true, false, false, false, amqp.Table{"x-single-active-consumer": true})
			if err != nil {
				t.Fatal(err)
			}
			total += q.Messages
		}
		if total != 30 {
			return fmt.Errorf("%d of 30 messages in partitions", total)
		}
		return nil
	})
}

func TestRunFailsOnARefusedTopology(t *testing.T) {
	q := labtest.UniqueName(t, "conflict")
	ch := rawChannel(t)
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-max-length": int32(5)}); err != nil {
		t.Fatal(err)
	}
	b, err := New(testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q)), openStore(t), WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	b.Handle(q, "Thing", effectHandler)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err = b.Run(ctx)
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), q) {
		t.Fatalf("Run = %v, want ErrPermanent naming %s", err, q)
	}
	if ctx.Err() != nil {
		t.Fatal("Run waited for the deadline instead of failing at once")
	}
}

// Every queue of a Ticketflow-like topology (dead-lettering, single active
// consumer, x-expires) and its retry companions (message TTL dead-lettering
// back) can be a quorum queue on the installed broker; redeclaring is a no-op.
func TestTicketflowTopologyAsQuorumQueues(t *testing.T) {
	p := labtest.UniqueName(t, "tfq") + "."
	topo := ticketflowTopology(p, true, true)
	topo = topo.Merge(RetryTopology(p+"sla-ticket-changes", 100*time.Millisecond, true)).WithQueueType(Quorum)
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	ch := rawChannel(t)
	for i := range 2 {
		if err := topo.Declare(ch); err != nil {
			t.Fatalf("declaration %d: %v", i+1, err)
		}
	}
	// A classic redeclaration of a quorum queue is refused: the queues are quorum.
	for _, q := range []string{p + "sla-ticket-changes", RetryQueueName(p + "sla-ticket-changes"), p + "live-metrics"} {
		_, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": Classic})
		var aerr *amqp.Error
		if !errors.As(err, &aerr) || aerr.Code != amqp.PreconditionFailed {
			t.Fatalf("queue %s redeclared as classic: err %v; want PRECONDITION_FAILED", q, err)
		}
		ch = rawChannel(t) // the refusal closed the channel
	}
	for _, q := range topo.Queues {
		if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
			t.Fatalf("delete %s: %v", q.Name, err)
		}
	}
}
