package spanfile

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// handlingAttrs is what a handling span of the messaging layer carries.
var handlingAttrs = []attribute.KeyValue{
	attribute.String("messaging.system", "rabbitmq"),
	attribute.String("messaging.operation.type", "process"),
	attribute.String("messaging.operation.name", "process"),
	attribute.String("messaging.destination.name", "tickets.TicketCreated"),
	attribute.String("messaging.message.id", "3f1c8e2a-5b7d-4e9f-8a6b-2c4d6e8f0a1b"),
	attribute.Int64("messaging.rabbitmq.message.delivery_tag", 12345),
	attribute.String("lab.service", "tickets"),
	attribute.String("lab.instance", "tickets-1"),
	attribute.String("lab.message.type", "TicketCreated"),
	attribute.String("lab.aggregate.id", "tkt-12345"),
	attribute.Int64("lab.aggregate.version", 3),
	attribute.String("lab.dedup.outcome", "processed"),
	attribute.String("lab.order.outcome", "applied"),
	attribute.Bool("lab.redelivered", false),
	attribute.Int64("lab.attempt", 1),
	attribute.StringSlice("lab.effect.keys", []string{"ticket:tkt-12345:create"}),
	attribute.String("lab.outcome", "acked"),
}

// BenchmarkProcessor measures span.End through the Processor: encoding plus
// one write(2) per span, on one goroutine and on GOMAXPROCS goroutines.
func BenchmarkProcessor(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			p, err := Open(filepath.Join(b.TempDir(), "bench.jsonl"), Options{Service: "tickets", Instance: "tickets-1"})
			if err != nil {
				b.Fatal(err)
			}
			tr := newProvider(b, p).Tracer("bench")
			ctx := b.Context()
			end := func() {
				_, s := tr.Start(ctx, "process TicketCreated", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(handlingAttrs...))
				s.End()
			}
			b.ReportAllocs()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						end()
					}
				})
			} else {
				for b.Loop() {
					end()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(p.Stats().Bytes)/float64(b.N), "bytes/span")
			if st := p.Stats(); st.Errors != 0 {
				b.Fatalf("write errors: %+v", st)
			}
		})
	}
}

// benchSpans is the size of the run the read benchmark loads.
const benchSpans = 200_000

// BenchmarkWalk measures streaming decode of a 200k-span run (no model).
func BenchmarkWalk(b *testing.B) {
	dir := b.TempDir()
	if _, err := Synthesize(dir, benchSpans, 1); err != nil {
		b.Fatal(err)
	}
	files, err := Files(filepath.Join(dir, "traces"))
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		st, err := Walk(files, func(*Record, Position) error { return nil })
		if err != nil || st.Spans != benchSpans {
			b.Fatalf("walk: %v, %d spans", err, st.Spans)
		}
		bytes = st.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(b.N*benchSpans)/b.Elapsed().Seconds(), "spans/s")
}
