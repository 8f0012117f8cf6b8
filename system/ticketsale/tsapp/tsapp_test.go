package tsapp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

func cfg(settings map[string]string, unprotect ...string) service.Config {
	return service.Config{System: "ticketsale", Name: "orders", Instance: 1, Settings: settings, Unprotect: unprotect}
}

// The outbox toggle: fixed publishes through the outbox, faithful after the
// commit; dedup and ordering are never on (the course's own version rule
// replaces them).
func TestProtectionsFollowOutboxToggle(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.Outbox, faithful)
		p, err := tsapp.Protections(cfg(nil), tg)
		if err != nil {
			t.Fatal(err)
		}
		if p.Outbox == faithful || p.Dedup || p.Ordering || !p.Confirms || !p.Retries {
			t.Errorf("faithful=%v: protections %s", faithful, p)
		}
	}
	p, err := tsapp.Protections(cfg(nil, "retries"), common.Fixed())
	if err != nil || p.Retries {
		t.Errorf("unprotect retries: %s %v", p, err)
	}
}

func TestParseSettings(t *testing.T) {
	s, err := tsapp.ParseSettings(cfg(map[string]string{tsapp.SettingAckWait: "250ms", tsapp.SettingMaxInFlight: "4",
		"deleteGuards": "faithful"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.AckWait != 250*time.Millisecond || s.MaxInFlight != 4 || !s.Toggles.IsFaithful(common.DeleteGuards) || s.JWTKey != common.DefaultJWTKey {
		t.Errorf("settings %+v", s)
	}
	def, _ := tsapp.ParseSettings(cfg(nil))
	if def.AckWait != 5*time.Second || def.MaxDeliveries != 0 {
		t.Errorf("defaults: ackWait %v, max deliveries %d; want the course's 5s and unlimited", def.AckWait, def.MaxDeliveries)
	}
	_, err = tsapp.ParseSettings(cfg(map[string]string{tsapp.SettingAckWait: "0s", tsapp.SettingMaxInFlight: "x", "outbox": "?"}))
	for _, key := range []string{"ack-wait", "max-in-flight", "outbox"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad settings: %v, want %s named", err, key)
		}
	}
}

func TestTopologyDeclaresOneQueuePerSubject(t *testing.T) {
	top := tsapp.Topology(common.GroupOf(common.ServicePayments), common.Listens[common.ServicePayments])
	if err := top.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(top.Queues) != 3 || top.Queues[0].Name != "payments-service.order.created" || top.Bindings[1].Key != "order.cancelled" {
		t.Errorf("topology %+v", top)
	}
}

// The runtime's routes answer in ticketsale's shape: /health with toggles
// and without amqp for a service without messaging, /lab/clock errors in
// the course's format, /lab/toggles.
func TestRoutesSpeakTicketsale(t *testing.T) {
	c := cfg(map[string]string{"deleteGuards": "faithful"})
	c.Name, c.AMQPURL, c.HTTPAddr, c.DBPath = common.ServiceAuth, "amqp://guest:guest@127.0.0.1:1/", "127.0.0.1:0", filepath.Join(t.TempDir(), "auth.db")
	rt, err := tsapp.New(t.Context(), c, nil, tsapp.Spec{Service: common.ServiceAuth})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	serve := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		rt.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec
	}
	rec := serve(http.MethodGet, "/health", "")
	var h map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &h) != nil || h["status"] != "Healthy" ||
		h["toggles"] != rt.Toggles().String() || h["amqp"] != nil || h["service"] != common.ServiceAuth {
		t.Fatalf("health %d %s", rec.Code, rec.Body)
	}
	rec = serve(http.MethodPost, "/lab/clock", `{}`)
	var e common.ErrorBody
	if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &e) != nil || len(e.Errors) != 1 || e.Errors[0].Message != "offsetMs is required" {
		t.Fatalf("POST /lab/clock {}: %d %s, want the course's error body", rec.Code, rec.Body)
	}
	rec = serve(http.MethodGet, "/lab/toggles", "")
	var tg tsapp.TogglesBody
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &tg) != nil || len(tg.Faithful) != 1 || tg.Faithful[0] != common.DeleteGuards {
		t.Fatalf("toggles %d %s", rec.Code, rec.Body)
	}
}
