package inquiries

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

type syncSub struct {
	in    *Intake
	st    *memStore
	calls SyncCalls
}

func (s syncSub) SubmitSync(ctx context.Context, req SubmitRequest) (*Inquiry, error) {
	return s.in.SubmitSync(ctx, s.st, s.calls, req, t0)
}

func TestSubmitSyncOverHTTP(t *testing.T) {
	var created map[string]any
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/translations":
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["languageCode"] != "pl" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, "Printer does not work")
		case "/tickets/":
			_ = json.NewDecoder(r.Body).Decode(&created)
			if created["email"] == "fail@example.com" {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, `{"message":"internal error"}`)
				return
			}
			w.WriteHeader(http.StatusCreated)
		}
	}))
	defer downstream.Close()
	st := newMemStore()
	client := &SyncClient{TranslationsURL: downstream.URL, TicketsURL: downstream.URL + "/", HTTP: downstream.Client()}
	mux := http.NewServeMux()
	RegisterSync(mux, syncSub{in: intake(t), st: st, calls: client}, nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(body string) (int, string) {
		resp, err := srv.Client().Post(srv.URL+"/inquiries/submit-sync", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(`{"name":"Jan","email":"jan@example.com","title":"Drukarka","description":"Drukarka nie działa po ostatniej aktualizacji.","category":"technical"}`)
	if code != 200 || !strings.Contains(body, `"languageCode":"pl"`) {
		t.Fatalf("%d %s", code, body)
	}
	if created["translatedDescription"] != "Printer does not work" || created["languageCode"] != "pl" || created["category"] != "Technical" {
		t.Fatalf("ticket body %v", created)
	}
	code, body = post(`{"name":"Jan","email":"fail@example.com","description":"My printer is broken since the last update."}`)
	if code != http.StatusBadGateway || !strings.Contains(body, "create ticket") {
		t.Fatalf("downstream failure: %d %s", code, body)
	}
	if code, _ := post(`{"name":"","email":"x","description":""}`); code != 400 {
		t.Fatalf("validation: %d", code)
	}
	slow := &SyncClient{TranslationsURL: "http://127.0.0.1:1", TicketsURL: "http://127.0.0.1:1", HTTP: &http.Client{Timeout: time.Second}}
	_, err := intake(t).SubmitSync(t.Context(), newMemStore(), slow, SubmitRequest{Name: "J", Email: "j@example.com", Description: "Drukarka nie działa po ostatniej aktualizacji."}, t0)
	if httpjson.StatusOf(err) != http.StatusBadGateway {
		t.Fatalf("unreachable translations: %v", err)
	}
}

func TestSyncClientSendsTheTraceContext(t *testing.T) {
	got := make(chan string, 2)
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
		if r.URL.Path == "/translations" {
			_, _ = io.WriteString(w, "hello")
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer downstream.Close()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	client := &SyncClient{TranslationsURL: downstream.URL, TicketsURL: downstream.URL, HTTP: downstream.Client()}
	if _, err := client.Translate(ctx, "cześć", "pl"); err != nil {
		t.Fatal(err)
	}
	if err := client.CreateTicket(ctx, &Inquiry{ID: "q", Email: "j@example.com"}, "hello"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if tp := <-got; tp != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
			t.Fatalf("traceparent %q", tp)
		}
	}
}
