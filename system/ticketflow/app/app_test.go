package app

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func TestTopologyConvertsEveryEntity(t *testing.T) {
	ct, err := contracts.ForService(contracts.Tickets, "tickets-2")
	if err != nil {
		t.Fatal(err)
	}
	mt := Topology(ct)
	if err := mt.Validate(); err != nil {
		t.Fatalf("converted topology invalid: %v", err)
	}
	if len(mt.Exchanges) != len(ct.Exchanges) || len(mt.Queues) != len(ct.Queues) || len(mt.Bindings) != len(ct.Bindings) {
		t.Fatalf("sizes differ: %d/%d/%d vs %d/%d/%d", len(mt.Exchanges), len(mt.Queues), len(mt.Bindings),
			len(ct.Exchanges), len(ct.Queues), len(ct.Bindings))
	}
	kinds := map[string]string{}
	for _, e := range mt.Exchanges {
		kinds[e.Name] = e.Kind
		if e.Transient || e.AutoDelete {
			t.Errorf("exchange %s not durable", e.Name)
		}
	}
	if kinds[contracts.ExchangeTickets] != messaging.Topic || kinds[contracts.ExchangeInquirySubmitted] != messaging.Direct {
		t.Fatalf("kinds = %v", kinds)
	}
	sync := contracts.AnomaliesSyncQueue(contracts.Tickets.AppName, "tickets-2")
	var syncQ, workQ, slaQ *messaging.Queue
	for i, q := range mt.Queues {
		switch q.Name {
		case sync:
			syncQ = &mt.Queues[i]
		case contracts.QueueInquirySubmittedTickets:
			workQ = &mt.Queues[i]
		case contracts.QueueSLATicketChanges:
			slaQ = &mt.Queues[i]
		}
	}
	if syncQ == nil || workQ == nil || slaQ == nil {
		t.Fatalf("queues missing: sync=%v work=%v sla=%v", syncQ, workQ, slaQ)
	}
	// Every service declares sla-ticket-changes, so each must declare it
	// with the same arguments.
	if got := slaQ.Args["x-single-active-consumer"]; got != true || len(slaQ.Args) != 1 {
		t.Fatalf("sla-ticket-changes args = %#v, want only x-single-active-consumer", slaQ.Args)
	}
	if got := syncQ.Args["x-expires"]; got != int32(contracts.AnomaliesSyncQueueExpiry) {
		t.Fatalf("sync queue x-expires = %#v", got)
	}
	if workQ.Args != nil || workQ.Transient || workQ.AutoDelete {
		t.Fatalf("work queue should be durable without args: %+v", workQ)
	}
	want := messaging.Binding{Source: contracts.ExchangeTickets, Destination: contracts.ExchangeAlerting, Key: contracts.KeyAlertPattern, ToExchange: true}
	found := false
	for _, b := range mt.Bindings {
		if b.Source == want.Source && b.Destination == want.Destination && b.Key == want.Key && b.ToExchange {
			found = true
		}
	}
	if !found {
		t.Fatal("exchange-to-exchange alert binding lost")
	}
}

func TestSettingsParseAndReject(t *testing.T) {
	cfg := service.Config{Settings: map[string]string{
		SettingHeartbeat: "2s", SettingConfirmTimeout: "750ms", SettingMaxAttempts: "3",
		SettingMetricsInterval: "0", SettingClockOffset: "-3s", SettingOTLPEndpoint: "http://127.0.0.1:4318",
		SettingDirectPublish: "after-commit",
	}}
	s, err := parseSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.heartbeat != 2*time.Second || s.confirmTimeout != 750*time.Millisecond || s.maxAttempts != 3 ||
		s.metricsInterval != 0 || s.clockOffset != -3*time.Second || s.otlp != "http://127.0.0.1:4318" ||
		s.directPublish != messaging.DirectAfterCommit {
		t.Fatalf("parsed %+v", s)
	}
	if s, _ := parseSettings(service.Config{}); s.metricsInterval != 5*time.Second || s.shutdownTimeout != 5*time.Second {
		t.Fatalf("defaults %+v", s)
	}
	for k, v := range map[string]string{SettingHeartbeat: "soon", SettingRetryDelay: "-1s", SettingMaxAttempts: "0", SettingClockOffset: "x",
		SettingDirectPublish: "later"} {
		if _, err := parseSettings(service.Config{Settings: map[string]string{k: v}}); err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
}

func TestMessagingConfigSplitsProtections(t *testing.T) {
	cfg := service.Config{Name: "tickets", Instance: 2, AMQPURL: "amqp://x", Unprotect: []string{"dedup", "idempotency"}}
	mc, idem, err := messagingConfig(cfg, settings{confirmTimeout: time.Second}, messaging.Topology{})
	if err != nil {
		t.Fatal(err)
	}
	if idem {
		t.Fatal("idempotency should be off")
	}
	if mc.Protections.Dedup || !mc.Protections.Outbox || !mc.Protections.Confirms {
		t.Fatalf("protections = %v", mc.Protections)
	}
	if mc.Instance != "tickets-2" || mc.Publisher.ConfirmTimeout != time.Second || mc.DirectPublish != "" {
		t.Fatalf("config = %+v", mc)
	}
	mc, _, _ = messagingConfig(cfg, settings{directPublish: messaging.DirectAfterCommit}, messaging.Topology{})
	if mc.DirectPublish != messaging.DirectAfterCommit {
		t.Fatalf("direct publish = %q, want the setting's", mc.DirectPublish)
	}
	if _, idem, _ := messagingConfig(service.Config{Name: "x"}, settings{}, messaging.Topology{}); !idem {
		t.Fatal("idempotency should default to on")
	}
}

func TestNewIDIsSeededUUIDv4(t *testing.T) {
	mk := func(starts int64) *Runtime {
		return &Runtime{rnd: rand.New(rand.NewPCG(42, mix("tickets", "tickets", starts, "ids")))}
	}
	a, b, c := mk(1), mk(1), mk(2)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 200 {
		x, y, z := a.NewID(), b.NewID(), c.NewID()
		if !re.MatchString(x) {
			t.Fatalf("%q is not a UUIDv4", x)
		}
		if x != y {
			t.Fatalf("same seed and start differ: %s vs %s", x, y)
		}
		if x == z {
			t.Fatalf("another start repeated id %s", x)
		}
		if seen[x] {
			t.Fatalf("id %s repeated", x)
		}
		seen[x] = true
	}
}

func TestCORSAllowsAnyOriginAndAnswersPreflight(t *testing.T) {
	called := false
	h := cors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { called = true }))
	req := httptest.NewRequest(http.MethodOptions, "/anomalies", nil)
	req.Header.Set("Origin", "http://localhost:21000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent || called {
		t.Fatalf("preflight: code %d, handler called %v", rec.Code, called)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("headers %v", rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if !called || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("simple request not passed through with CORS header")
	}
}

func TestTraceContextMakesTheCallerTheParent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(t.Context()) }()
	h := traceContext(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, span := tp.Tracer("test").Start(r.Context(), "command Test")
		span.End()
	}))
	req := httptest.NewRequest(http.MethodPost, "/tickets/1/qualify", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health", nil))
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if got := spans[0].SpanContext.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace %s, want the caller's", got)
	}
	if got := spans[0].Parent.SpanID().String(); got != "00f067aa0ba902b7" || !spans[0].Parent.IsRemote() {
		t.Fatalf("parent %s (remote %v), want the caller's span", got, spans[0].Parent.IsRemote())
	}
	if spans[1].Parent.IsValid() || spans[1].SpanContext.TraceID() == spans[0].SpanContext.TraceID() {
		t.Fatal("a request without traceparent must start a new trace")
	}
}

// Clock skew may go either way: a negative clock-offset setting and a
// negative POST /lab/clock are both accepted.
func TestNegativeClockOffsets(t *testing.T) {
	s, err := parseSettings(service.Config{Settings: map[string]string{SettingClockOffset: "-1h30m"}})
	if err != nil || s.clockOffset != -90*time.Minute {
		t.Fatalf("clock-offset=-1h30m: %v %v", s.clockOffset, err)
	}
	rt := &Runtime{clk: clock.NewReal(s.clockOffset), log: slog.New(slog.DiscardHandler)}
	for _, ms := range []int64{-3000, 0, 5000, -86_400_000} {
		rec := httptest.NewRecorder()
		rt.setClock(rec, httptest.NewRequest(http.MethodPost, "/lab/clock", strings.NewReader(fmt.Sprintf(`{"offsetMs":%d}`, ms))))
		var body ClockBody
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.OffsetMs != ms {
			t.Fatalf("POST offsetMs %d: %d %s", ms, rec.Code, rec.Body)
		}
		if got := rt.clk.Offset(); got != time.Duration(ms)*time.Millisecond {
			t.Fatalf("offset %v after POST %d", got, ms)
		}
		if skew := time.Until(rt.clk.Now()) - time.Duration(ms)*time.Millisecond; skew > time.Second || skew < -time.Second {
			t.Fatalf("clock now off by %v from offset %d ms", skew, ms)
		}
	}
}
