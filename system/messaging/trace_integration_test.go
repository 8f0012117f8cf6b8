//go:build integration

package messaging

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// (g) publish → consume → publish → consume forms one trace, each span the
// child of the previous one, and every handling span has ended before its
// delivery is acked.
func TestTraceContinuesAcrossHops(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	q1, q2 := labtest.UniqueName(t, "hop1"), labtest.UniqueName(t, "hop2")
	var mu sync.Mutex
	var notEndedBeforeAck []string
	hooks := Hooks{BeforeAck: func(ctx context.Context, d *Delivery) {
		for _, s := range exp.GetSpans() {
			if s.Name == "process "+d.Queue && attr(s, otelamqp.MessagingMessageID) == d.ID {
				return
			}
		}
		mu.Lock()
		notEndedBeforeAck = append(notEndedBeforeAck, d.ID)
		mu.Unlock()
	}}
	db := openStore(t)
	b, err := New(testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q1, q2)), db,
		WithLogger(labtest.Logger(t)), WithTracerProvider(tp), WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	b.Handle(q1, "First", func(ctx context.Context, tx *Tx, d *Delivery) error {
		tx.Effect("first:" + d.ID)
		return tx.Publish(ctx, ToQueue(q2), MustMessage("Second", struct{}{}))
	})
	b.Handle(q2, "Second", func(ctx context.Context, tx *Tx, d *Delivery) error {
		tx.OnCommit(func() { done <- d.CorrelationID })
		return nil
	})
	runBus(t, b)

	ctx, root := tp.Tracer("test").Start(t.Context(), "http submit")
	err = b.InTx(ctx, func(ctx context.Context, tx *Tx) error {
		return tx.Publish(ctx, ToQueue(q1), MustMessage("First", struct{}{}).WithCorrelation("flow-1"))
	})
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case corr := <-done:
		if corr != "flow-1" {
			t.Fatalf("correlation id %q did not flow through", corr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("second hop not handled within 15 s")
	}
	var chain []tracetest.SpanStub
	labtest.Eventually(t, 5*time.Second, func() error {
		chain = nil
		spans := exp.GetSpans()
		for _, name := range []string{"http submit", "publish (default)", "process " + q1, "publish (default)", "process " + q2} {
			var next *tracetest.SpanStub
			for i := range spans {
				s := &spans[i]
				if s.Name != name {
					continue
				}
				if len(chain) == 0 || s.Parent.SpanID() == chain[len(chain)-1].SpanContext.SpanID() {
					next = s
					break
				}
			}
			if next == nil {
				return fmt.Errorf("no %q span continuing the chain (have %d spans)", name, len(spans))
			}
			chain = append(chain, *next)
		}
		return nil
	})
	tid := chain[0].SpanContext.TraceID()
	for _, s := range chain {
		if s.SpanContext.TraceID() != tid {
			t.Fatalf("span %s in trace %s, want %s", s.Name, s.SpanContext.TraceID(), tid)
		}
	}
	if k := chain[1].SpanKind; k != trace.SpanKindProducer {
		t.Errorf("publish span kind %v", k)
	}
	if k := chain[2].SpanKind; k != trace.SpanKindConsumer {
		t.Errorf("process span kind %v", k)
	}
	p1 := chain[2]
	for key, want := range map[attribute.Key]string{
		otelamqp.MessagingSystem:          "rabbitmq",
		otelamqp.MessagingDestinationName: q1,
		otelamqp.LabDedupOutcome:          otelamqp.DedupProcessed,
		otelamqp.LabOrderOutcome:          otelamqp.OrderOff,
		otelamqp.LabOutcome:               OutcomeAcked,
		otelamqp.LabRedelivered:           "false",
		otelamqp.LabAttempt:               "1",
		otelamqp.LabService:               "test",
	} {
		if got := attr(p1, key); got != want {
			t.Errorf("process span %s = %q, want %q", key, got, want)
		}
	}
	if got := attr(chain[3], otelamqp.LabPublishVia); got != "outbox" {
		t.Errorf("second publish via %q, want outbox", got)
	}
	if got := attr(chain[3], otelamqp.LabConfirmOutcome); got != "ack" {
		t.Errorf("second publish confirm %q, want ack", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notEndedBeforeAck) > 0 {
		t.Fatalf("handling spans not ended before the ack: %v", notEndedBeforeAck)
	}
}

func attr(s tracetest.SpanStub, k attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == k {
			return a.Value.Emit()
		}
	}
	return ""
}
