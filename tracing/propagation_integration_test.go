//go:build integration

package tracing

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// TestTraceThroughRabbitMQ: trace context injected into AMQP headers
// survives a real broker; the consumer ends its handling span before it
// acks; the reader sees one connected trace per message across the two
// span files.
func TestTraceThroughRabbitMQ(t *testing.T) {
	run := t.TempDir()
	pubTP, pubDown, err := Setup(t.Context(), Config{ServiceName: "inquiries", Instance: "inquiries-1",
		SpanFile: filepath.Join(run, "traces", "inquiries-1.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	conTP, conDown, err := Setup(t.Context(), Config{ServiceName: "tickets", Instance: "tickets-1",
		SpanFile: filepath.Join(run, "traces", "tickets-1.jsonl")})
	if err != nil {
		t.Fatal(err)
	}

	_, ch := labtest.Channel(t, labtest.AMQPURL(t))
	q, err := ch.QueueDeclare(labtest.UniqueName(t, "tracing"), false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}

	const n = 20
	tr := pubTP.Tracer("test")
	for i := range n {
		ctx, root := tr.Start(t.Context(), "POST /inquiries", trace.WithSpanKind(trace.SpanKindServer))
		pctx, pub := tr.Start(ctx, "publish InquirySubmitted", trace.WithSpanKind(trace.SpanKindProducer))
		id := labtest.UniqueName(t, "m")
		pub.SetAttributes(otelamqp.MessagingMessageID.String(id), otelamqp.LabMessageType.String("InquirySubmitted"))
		conf, err := ch.PublishWithDeferredConfirmWithContext(pctx, "", q.Name, true, false, amqp.Publishing{
			MessageId: id, Type: "InquirySubmitted", DeliveryMode: amqp.Persistent,
			Headers: otelamqp.Inject(pctx, nil), Body: []byte(`{}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := conf.WaitContext(t.Context()); err != nil || !ok {
			t.Fatalf("publish %d not confirmed: %v", i, err)
		}
		pub.End()
		root.End()
	}

	deliveries, err := ch.Consume(q.Name, "", false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctr := conTP.Tracer("test")
	timeout := time.After(30 * time.Second)
	for got := 0; got < n; got++ {
		select {
		case d := <-deliveries:
			_, h := ctr.Start(otelamqp.Extract(context.Background(), d.Headers), "process "+d.Type,
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(otelamqp.MessagingMessageID.String(d.MessageId), otelamqp.LabMessageType.String(d.Type)))
			h.End() // end before ack: the span file then holds every acked handling
			if err := d.Ack(false); err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatalf("only %d of %d deliveries within 30 s", got, n)
		}
	}
	for _, down := range []func(context.Context) error{pubDown, conDown} {
		if err := down(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	r := readRunSpans(t, run)
	if len(r) != 3*n || r.traces() != n || len(r.orphans()) != 0 {
		t.Fatalf("spans %d (want %d), traces %d (want %d), orphans %v", len(r), 3*n, r.traces(), n, r.orphans())
	}
	for id, spans := range r.byAttr(otelamqp.MessagingMessageID) {
		if len(spans) != 2 || spans[0].Kind != trace.SpanKindProducer || spans[1].Kind != trace.SpanKindConsumer {
			t.Fatalf("message %s: spans %+v", id, spans)
		}
		if p, ok := r.parent(spans[1]); !ok || p.SpanID != spans[0].SpanID {
			t.Fatalf("message %s: handling's parent is %+v, want the publish span", id, p)
		}
	}
}
