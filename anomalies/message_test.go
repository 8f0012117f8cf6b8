package anomalies

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy"
)

// messageLab serves real amqpproxy handlers the way the lab API mounts
// them, at /services/<id>/. The proxies' upstream is never dialled: no
// client connects in these tests.
func messageLab(t *testing.T, ids ...string) (*Env, map[string]*amqpproxy.Proxy) {
	t.Helper()
	mux := http.NewServeMux()
	proxies := map[string]*amqpproxy.Proxy{}
	var instances []Instance
	for i, id := range ids {
		p, err := amqpproxy.New(amqpproxy.Config{Upstream: "127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		proxies[id] = p
		mux.Handle("/services/"+id+"/", http.StripPrefix("/services/"+id, p.Handler()))
		instances = append(instances, Instance{Service: "tickets", ID: id, Number: i + 1})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &Env{LabAPI: srv.URL, Instances: instances, Evidence: NewEvidence()}, proxies
}

func TestMessageRuleMapsScenarioFields(t *testing.T) {
	cases := []struct {
		m    Message
		want amqpproxy.Rule
	}{
		{Message{Fault: "duplicate-delivery", MessageType: "TicketResolved", Every: 2, Count: 5},
			amqpproxy.Rule{Fault: amqpproxy.DuplicateDelivery, Every: 2, Limit: 5, Match: amqpproxy.Match{Type: "TicketResolved"}}},
		{Message{Fault: "reorder", Queue: "sla-ticket-changes", Window: 4, Prefetch: 10},
			amqpproxy.Rule{Fault: amqpproxy.Reorder, Window: 4, Prefetch: 10, Match: amqpproxy.Match{Queue: "sla-ticket-changes"}}},
		{Message{Fault: "channel-close", Nth: 3, Count: 9, ReplyCode: 406},
			amqpproxy.Rule{Fault: amqpproxy.ChannelClose, Every: 3, Limit: 1, ReplyCode: 406}},
		{Message{Fault: "delay-confirm", RoutingKey: "k", Delay: 2 * time.Second},
			amqpproxy.Rule{Fault: amqpproxy.DelayConfirm, Delay: amqpproxy.Duration(2 * time.Second), Match: amqpproxy.Match{RoutingKey: "k"}}},
		{Message{Fault: "drop-ack"}, amqpproxy.Rule{Fault: amqpproxy.DropAck, AckTimeout: new(amqpproxy.Duration(amqpproxy.DefaultAckTimeout))}},
		{Message{Fault: "drop-ack", AckTimeout: new(time.Duration(0))}, amqpproxy.Rule{Fault: amqpproxy.DropAck, AckTimeout: new(amqpproxy.Duration(0))}},
		{Message{Fault: "drop-ack", AckTimeout: new(3 * time.Second)}, amqpproxy.Rule{Fault: amqpproxy.DropAck, AckTimeout: new(amqpproxy.Duration(3 * time.Second))}},
	}
	for _, c := range cases {
		got, err := c.m.Rule()
		if err != nil {
			t.Fatalf("%s: %v", c.m.Fault, err)
		}
		if got.Probability != nil {
			t.Fatalf("%s: probability %v without one asked", c.m.Fault, *got.Probability)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: rule %+v, want %+v", c.m.Fault, got, c.want)
		}
	}
	r, err := (&Message{Fault: "duplicate-publish", Probability: 0.25}).Rule()
	if err != nil || r.Probability == nil || *r.Probability != 0.25 {
		t.Fatalf("probability: %+v %v", r, err)
	}
	if _, err := (&Message{Fault: "shuffle"}).Rule(); err == nil || !strings.Contains(err.Error(), "shuffle") {
		t.Fatalf("unknown fault: %v", err)
	}
	for _, name := range MessageCounters() {
		if !strings.HasPrefix(name, "proxy.") {
			t.Errorf("counter %s lacks the proxy. prefix", name)
		}
	}
}

func TestMessageInstallsOnEveryInstanceAndHealRemovesAndCounts(t *testing.T) {
	env, proxies := messageLab(t, "tickets", "tickets-2")
	m := &Message{Env: env, Service: "tickets", Fault: "duplicate-delivery", MessageType: "TicketResolved", Count: 2}
	h, err := m.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for name, p := range proxies {
		rules := p.Rules()
		if len(rules) != 1 || rules[0].Fault != amqpproxy.DuplicateDelivery || rules[0].Match.Type != "TicketResolved" || rules[0].Limit != 2 {
			t.Fatalf("%s rules %+v", name, rules)
		}
		if id != "" && rules[0].ID != id {
			t.Fatalf("rule ids differ between instances: %s, %s", id, rules[0].ID)
		}
		id = rules[0].ID
	}
	// A rule the executor did not install stays.
	if _, err := proxies["tickets"].AddRule(amqpproxy.Rule{ID: "other", Fault: amqpproxy.DropAck}); err != nil {
		t.Fatal(err)
	}
	// Heal on a context whose parent was cancelled (Ctrl-C during the run).
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	hctx, hcancel := HealContext(ctx, 5*time.Second)
	defer hcancel()
	if err := h.Heal(hctx); err != nil {
		t.Fatal(err)
	}
	if rules := proxies["tickets"].Rules(); len(rules) != 1 || rules[0].ID != "other" {
		t.Fatalf("after heal tickets has %+v, want only the other rule", rules)
	}
	if rules := proxies["tickets-2"].Rules(); len(rules) != 0 {
		t.Fatalf("after heal tickets-2 has %+v", rules)
	}
	got, ok := env.Evidence.Counters()[CounterProxyDeliveriesDuplicated]
	if !ok || got != 0 {
		t.Fatalf("counter %s = %v (recorded %v), want a recorded 0", CounterProxyDeliveriesDuplicated, got, ok)
	}
}

func TestMessageFailedInjectLeavesNothingInstalled(t *testing.T) {
	env, proxies := messageLab(t, "tickets", "tickets-2")
	// The second instance refuses: an id it already has.
	m := &Message{Env: env, Service: "tickets", Fault: "drop-ack"}
	next := ruleSeq.Load() + 1
	if _, err := proxies["tickets-2"].AddRule(amqpproxy.Rule{ID: m.Name() + "-" + strconv.FormatInt(next, 10), Fault: amqpproxy.DropAck}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inject(t.Context()); err == nil || !strings.Contains(err.Error(), "tickets-2") {
		t.Fatalf("inject: %v, want the refusal of tickets-2", err)
	}
	if rules := proxies["tickets"].Rules(); len(rules) != 0 {
		t.Fatalf("a failed inject left %+v on tickets", rules)
	}
	for _, bad := range []*Message{
		{Env: env, Service: "tickets", Fault: "no-such"},
		{Env: env, Service: "sla", Fault: "drop-ack"},
		{Env: &Env{Instances: env.Instances}, Service: "tickets", Fault: "drop-ack"},
	} {
		if _, err := bad.Inject(t.Context()); err == nil {
			t.Errorf("%+v: inject succeeded", bad)
		}
	}
}

func TestMessageHealerReadsTheRulesEvidenceUntilItsHeal(t *testing.T) {
	env, proxies := messageLab(t, "tickets")
	// The lab API's evidence of tickets as the test sets it; the rest is
	// the real proxy handler.
	var mu sync.Mutex
	var ev amqpproxy.Evidence
	mux := http.NewServeMux()
	mux.HandleFunc("GET /services/tickets/evidence", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ev)
	})
	mux.Handle("/services/tickets/", http.StripPrefix("/services/tickets", proxies["tickets"].Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env.LabAPI = srv.URL

	m := &Message{Env: env, Service: "tickets", Fault: "drop-confirm", MessageType: "TicketResolved"}
	h, err := m.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	live, ok := h.(LiveEvidence)
	if !ok {
		t.Fatalf("the healer %T cannot read its evidence before its heal", h)
	}
	if got, err := live.EvidenceSoFar(t.Context()); err != nil || got[CounterProxyConfirmsDropped] != 0 {
		t.Fatalf("before any confirm: %v, %v", got, err)
	}
	id := proxies["tickets"].Rules()[0].ID
	mu.Lock()
	ev.Events = []amqpproxy.Event{
		{Fault: amqpproxy.DropConfirm, Rule: id, MessageID: "m1"},
		{Fault: amqpproxy.DropConfirm, Rule: "another-rule", MessageID: "m2"},
		{Fault: amqpproxy.DropConfirm, Rule: id, MessageID: "m3"},
	}
	mu.Unlock()
	got, err := live.EvidenceSoFar(t.Context())
	if err != nil || len(got) != 1 || got[CounterProxyConfirmsDropped] != 2 {
		t.Fatalf("so far: %v, %v; want %s 2 (this rule's events only)", got, err, CounterProxyConfirmsDropped)
	}
	if _, recorded := env.Evidence.Counters()[CounterProxyConfirmsDropped]; recorded {
		t.Fatal("reading so far recorded the counter; only the heal records it")
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := env.Evidence.Counters()[CounterProxyConfirmsDropped]; got != 2 {
		t.Fatalf("the heal recorded %v, want 2", got)
	}
	if got, err := live.EvidenceSoFar(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("after the heal: %v, %v; want nothing (the heal recorded it)", got, err)
	}
}
