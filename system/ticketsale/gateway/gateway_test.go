package gateway_test

import (
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newGateway(t *testing.T, k gateway.Knobs) *gateway.Gateway {
	t.Helper()
	return gateway.New(tstest.Store(t, gateway.Migrations), k, 7)
}

var req = gateway.ChargeRequest{Amount: 2000, Currency: "usd", Source: "tok_visa", OrderID: "o1"}

func TestChargeWithoutKeyChargesTwice(t *testing.T) {
	g := newGateway(t, gateway.Knobs{})
	for range 2 {
		if _, out, err := g.Charge(t.Context(), req, "", now); err != nil || out != gateway.Charged {
			t.Fatalf("charge: %v %v", out, err)
		}
	}
	cs, _ := g.Charges(t.Context(), "o1")
	if len(cs) != 2 {
		t.Errorf("%d charges without an idempotency key, want 2 (L2)", len(cs))
	}
}

func TestChargeWithKeyReplays(t *testing.T) {
	g := newGateway(t, gateway.Knobs{})
	a, _, err := g.Charge(t.Context(), req, "o1", now)
	if err != nil {
		t.Fatal(err)
	}
	b, out, err := g.Charge(t.Context(), req, "o1", now)
	if err != nil || out != gateway.Replayed || b.ID != a.ID {
		t.Errorf("second charge with the key: %v %v %s, want a replay of %s", out, err, b.ID, a.ID)
	}
	if cs, _ := g.Charges(t.Context(), ""); len(cs) != 1 {
		t.Errorf("%d charges, want 1", len(cs))
	}
}

func TestKnobs(t *testing.T) {
	g := newGateway(t, gateway.Knobs{RefusalRate: 1})
	if _, out, _ := g.Charge(t.Context(), req, "", now); out != gateway.Declined {
		t.Errorf("refusal rate 1: %v", out)
	}
	if err := g.SetKnobs(gateway.Knobs{TimeoutChargedRate: 1}); err != nil {
		t.Fatal(err)
	}
	c, out, err := g.Charge(t.Context(), req, "", now)
	if err != nil || out != gateway.ChargedTimedOut || !c.TimedOut {
		t.Errorf("timeout rate 1: %v %v %+v", out, err, c)
	}
	if cs, _ := g.Charges(t.Context(), ""); len(cs) != 1 {
		t.Errorf("a timed-out charge must be taken: %d charges", len(cs))
	}
	if err := g.SetKnobs(gateway.Knobs{LatencyMs: 150}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, out, _ := g.Charge(t.Context(), gateway.ChargeRequest{Amount: 1, Currency: "usd", Source: gateway.DeclinedToken}, "", now); out != gateway.Declined {
		t.Errorf("declined token: %v", out)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("latency 150ms, the charge took %v", d)
	}
	if err := g.SetKnobs(gateway.Knobs{RefusalRate: 2}); err == nil {
		t.Error("rate 2 accepted")
	}
}

func TestRefundOnce(t *testing.T) {
	g := newGateway(t, gateway.Knobs{})
	c, _, _ := g.Charge(t.Context(), req, "", now)
	a, err := g.Refund(t.Context(), c.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Refund(t.Context(), c.ID, now)
	if err != nil || a != b {
		t.Errorf("second refund %s %v, want %s", b, err, a)
	}
	if cs, _ := g.Charges(t.Context(), ""); !cs[0].Refunded {
		t.Error("charge not marked refunded")
	}
	if _, err := g.Refund(t.Context(), "ch_nope", now); err == nil {
		t.Error("refund of an unknown charge succeeded")
	}
}

func TestKnobsFromSettings(t *testing.T) {
	k, err := gateway.KnobsFromSettings(map[string]string{gateway.SettingLatency: "200ms", gateway.SettingRefusalRate: "0.1", gateway.SettingTimeoutChargedRate: "0.2"})
	if err != nil || k != (gateway.Knobs{LatencyMs: 200, RefusalRate: 0.1, TimeoutChargedRate: 0.2}) {
		t.Errorf("knobs %+v %v", k, err)
	}
	if _, err := gateway.KnobsFromSettings(map[string]string{gateway.SettingRefusalRate: "x"}); err == nil {
		t.Error("a malformed rate was accepted")
	}
}
