package otelamqp

import (
	"context"
	"slices"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

func remoteContext(t testing.TB) context.Context {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, err := trace.ParseTraceState("lab=1")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts})
	m, _ := baggage.NewMember("run", "r1")
	b, _ := baggage.New(m)
	return baggage.ContextWithBaggage(trace.ContextWithSpanContext(context.Background(), sc), b)
}

func TestInjectExtractRoundTrip(t *testing.T) {
	ctx := remoteContext(t)
	h := Inject(ctx, amqp.Table{"x-lab-aggregate-id": "tkt-1"})
	if h["traceparent"] != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" || h["tracestate"] != "lab=1" || h["x-lab-aggregate-id"] != "tkt-1" {
		t.Fatalf("headers = %v", h)
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("headers are not a valid AMQP table: %v", err)
	}
	got := Extract(context.Background(), h)
	sc := trace.SpanContextFromContext(got)
	want := trace.SpanContextFromContext(ctx)
	if !sc.IsRemote() || sc.TraceID() != want.TraceID() || sc.SpanID() != want.SpanID() || sc.TraceState().String() != "lab=1" || !sc.IsSampled() {
		t.Fatalf("extracted %+v, want %+v", sc, want)
	}
	if v := baggage.FromContext(got).Member("run").Value(); v != "r1" {
		t.Fatalf("baggage run = %q", v)
	}
	keys := HeaderCarrier(h).Keys()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"baggage", "traceparent", "tracestate", "x-lab-aggregate-id"}) {
		t.Fatalf("Keys = %q", keys)
	}
}

func TestExtractToleratesMissingAndForeignHeaders(t *testing.T) {
	if got := Extract(context.Background(), nil); trace.SpanContextFromContext(got).IsValid() {
		t.Fatal("nil headers produced a span context")
	}
	h := amqp.Table{"traceparent": []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "n": int32(1)}
	if got := Extract(context.Background(), h); trace.SpanContextFromContext(got).IsValid() {
		t.Fatal("non-string traceparent was read")
	}
	if HeaderCarrier(h).Get("n") != "" {
		t.Fatal("non-string header read as a string")
	}
	if h := Inject(context.Background(), nil); h == nil || len(h) != 0 {
		t.Fatalf("Inject without a span = %v", h)
	}
}

func BenchmarkInjectExtract(b *testing.B) {
	ctx := remoteContext(b)
	b.ReportAllocs()
	for b.Loop() {
		h := Inject(ctx, nil)
		if !trace.SpanContextFromContext(Extract(context.Background(), h)).IsValid() {
			b.Fatal("lost span context")
		}
	}
}
