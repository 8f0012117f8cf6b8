package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
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
		SettingRetryDelay: "100ms", SettingMaxAttempts: "3", SettingMetricsInterval: "0",
		SettingDirectPublish: "after-commit", SettingSLAPartitions: "4", SettingSLAQueues: "partitioned",
	}}
	s, err := parseSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.retryDelay != 100*time.Millisecond || s.maxAttempts != 3 || s.metricsInterval != 0 ||
		s.directPublish != messaging.DirectAfterCommit || s.variant.SLAPartitions != 4 {
		t.Fatalf("parsed %+v", s)
	}
	if s, _ := parseSettings(service.Config{}); s.metricsInterval != 5*time.Second {
		t.Fatalf("defaults %+v", s)
	}
	for k, v := range map[string]string{SettingRetryDelay: "-1s", SettingMaxAttempts: "0", SettingDirectPublish: "later",
		SettingSLAPartitions: "x", SettingTranslationV1: "maybe"} {
		if _, err := parseSettings(service.Config{Settings: map[string]string{k: v}}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v, want an error naming the key", k, v, err)
		}
	}
	// CheckSettings also sees the shared runtime's settings.
	if err := CheckSettings(service.Config{Settings: map[string]string{runtime.SettingHeartbeat: "soon"}}); err == nil {
		t.Error("CheckSettings accepted heartbeat=soon")
	}
}

func TestProtectionsSplitIdempotency(t *testing.T) {
	prot, idem, err := protections(service.Config{Unprotect: []string{"dedup", "idempotency"}})
	if err != nil {
		t.Fatal(err)
	}
	if idem {
		t.Fatal("idempotency should be off")
	}
	if prot.Dedup || !prot.Outbox || !prot.Confirms {
		t.Fatalf("protections = %v", prot)
	}
	if _, idem, _ := protections(service.Config{}); !idem {
		t.Fatal("idempotency should default to on")
	}
	if _, _, err := protections(service.Config{Unprotect: []string{"luck"}}); err == nil {
		t.Fatal("unknown protection accepted")
	}
}

// The runtime's routes answer in Ticketflow's shape: /health with app,
// amqp and protections (503 before the bus is up), /lab/clock errors as
// {"message"}, CORS on every route; Run refuses a service whose accepted
// types have no handler.
func TestRoutesSpeakTicketflowAndRunChecksHandlers(t *testing.T) {
	cfg := service.Config{System: "ticketflow", Name: contracts.Tickets.Name, Instance: 1,
		AMQPURL: "amqp://guest:guest@127.0.0.1:1/", HTTPAddr: "127.0.0.1:0", DBPath: filepath.Join(t.TempDir(), "t.db"),
		Unprotect: []string{"dedup"}, Settings: map[string]string{SettingMetricsInterval: "0"}}
	rt, err := New(t.Context(), cfg, nil, Spec{Service: contracts.Tickets})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		rt.Handler().ServeHTTP(rec, r)
		return rec
	}
	rec := serve(httptest.NewRequest(http.MethodGet, "/health", nil))
	var h Health
	if rec.Code != http.StatusServiceUnavailable || json.Unmarshal(rec.Body.Bytes(), &h) != nil || h.Status != "Unhealthy" ||
		h.App != contracts.Tickets.AppName || h.AMQP.Connected || !h.DB.OK || h.Protections != "off: dedup" || !h.Idempotency {
		t.Fatalf("health before Run: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("no CORS header on /health")
	}
	rec = serve(httptest.NewRequest(http.MethodPost, "/lab/clock", strings.NewReader(`{}`)))
	if rec.Code != http.StatusBadRequest || strings.TrimSpace(rec.Body.String()) != `{"message":"offsetMs is required"}` {
		t.Fatalf("POST /lab/clock {}: %d %s", rec.Code, rec.Body)
	}
	if err := rt.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "no handler for") {
		t.Fatalf("Run without handlers: %v", err)
	}
}
