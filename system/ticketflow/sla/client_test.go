package sla

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestMessageClient(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m AgentMessage
		if r.URL.Path != "/messages" || json.NewDecoder(r.Body).Decode(&m) != nil || m.Title == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"message":"title is required"}`))
			return
		}
		if m.RecipentUserID == "crash" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		mu.Lock()
		seen[m.IdempotencyKey]++
		mu.Unlock()
		_, _ = w.Write([]byte(`{"id":"m1","inserted":true}`))
	}))
	defer srv.Close()
	c := &MessageClient{BaseURL: srv.URL + "/", HTTP: srv.Client()}
	msg, _ := Effects(Action{Kind: SendReminder, TicketID: "t", N: 1, Key: "reminder:t:1", AgentUserID: "u"})
	if err := c.Send(t.Context(), *msg); err != nil {
		t.Fatal(err)
	}
	if seen["reminder:t:1"] != 1 {
		t.Fatalf("server saw %v", seen)
	}
	if err := c.Send(t.Context(), AgentMessage{RecipentUserID: "u"}); !errors.Is(err, ErrRejected) {
		t.Fatalf("4xx: %v", err)
	}
	if err := c.Send(t.Context(), AgentMessage{RecipentUserID: "crash", Title: "x"}); err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("5xx must be transient: %v", err)
	}
}

func TestMessageClientSendsTheTraceContext(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	c := &MessageClient{BaseURL: srv.URL, HTTP: srv.Client()}
	if err := c.Send(ctx, AgentMessage{RecipentUserID: "u", Title: "t", IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if tp := <-got; tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent %q", tp)
	}
}
