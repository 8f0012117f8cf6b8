package messaging

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestTopologyValidateCatchesMistakes(t *testing.T) {
	bad := Topology{
		Exchanges: []Exchange{{Name: "x", Kind: "fan-out"}, {Name: "x", Kind: Topic}},
		Queues:    []Queue{{Name: "q", Type: Quorum, Exclusive: true}},
		Bindings:  []Binding{{Source: "nope", Destination: "q"}, {Source: "x", Destination: "missing"}},
	}
	err := bad.Validate()
	for _, want := range []string{`unknown kind "fan-out"`, "declared twice", "quorum queues must be durable", "source exchange not declared", "destination queue not declared"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to mention %q", err, want)
		}
	}
}

func TestWithQueueTypeSetsOnlyQueuesThatCanHaveIt(t *testing.T) {
	topo := Topology{Queues: []Queue{
		{Name: "work"},
		{Name: "own", Type: Classic},
		{Name: "tmp", Transient: true},
		{Name: "excl", Exclusive: true},
		{Name: "auto", AutoDelete: true},
	}}.Merge(RetryTopology("work", 0, false))
	got := topo.WithQueueType(Quorum)
	want := map[string]string{"work": Quorum, "own": Classic, "tmp": "", "excl": "", "auto": "", "work-retry": Classic, "work-dlq": Classic}
	for _, q := range got.Queues {
		if q.Type != want[q.Name] {
			t.Errorf("queue %s: type %q, want %q", q.Name, q.Type, want[q.Name])
		}
	}
	if topo.Queues[0].Type != "" {
		t.Errorf("WithQueueType changed its receiver: %q", topo.Queues[0].Type)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if u := topo.WithQueueType(""); u.Queues[0].Type != "" {
		t.Errorf("empty type changed the topology: %q", u.Queues[0].Type)
	}
}

func TestQueueNodeDownKnowsTheHomeNodeDownAnswer(t *testing.T) {
	down := &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - home node 'rabbit@n3' of durable queue 'q' in vhost '/' is down or inaccessible"}
	if !QueueNodeDown(fmt.Errorf("declare queue q: %w", down)) {
		t.Error("the broker's home-node-down answer not recognised")
	}
	for _, err := range []error{
		&amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no queue 'q' in vhost '/'"},
		&amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'"},
		errors.New("is down or inaccessible"),
	} {
		if QueueNodeDown(err) {
			t.Errorf("QueueNodeDown(%v) = true", err)
		}
	}
}
