package amqpproxy

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRuleValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Rule
		want string // substring of the error; "" = valid
	}{
		{"duplicate", Rule{Fault: DuplicateDelivery}, ""},
		{"unknown fault", Rule{Fault: "explode"}, `fault "explode"`},
		{"old spelling", Rule{Fault: "close-channel"}, `renamed, spell it "channel-close"`},
		{"reorder defaults", Rule{Fault: Reorder}, ""},
		{"reorder window 1", Rule{Fault: Reorder, Window: 1}, "window 1"},
		{"delay without delay", Rule{Fault: DelayDelivery}, "positive delay"},
		{"delay confirm", Rule{Fault: DelayConfirm, Delay: Duration(time.Second)}, ""},
		{"close defaults", Rule{Fault: ChannelClose}, ""},
		{"close bad code", Rule{Fault: ConnectionClose, ReplyCode: 42}, "reply_code 42"},
		{"close on publish", Rule{Fault: ConnectionClose, On: OnPublish}, ""},
		{"bad point", Rule{Fault: ChannelClose, On: "ack"}, `on "ack"`},
		{"fixed point", Rule{Fault: DropConfirm, On: OnDeliver}, "always acts on publish"},
		{"consumer tag on publish", Rule{Fault: DuplicatePublish, Match: Match{ConsumerTag: "c"}}, "consumer_tag"},
		{"probability", Rule{Fault: DropAck, Probability: new(1.5)}, "probability 1.5"},
		{"negative every and limit", Rule{Fault: DropAck, Every: -1, Limit: -2}, "every -1"},
		{"reorder prefetch", Rule{Fault: Reorder, Window: 4, Prefetch: 10}, ""},
		{"reorder prefetch below window", Rule{Fault: Reorder, Window: 4, Prefetch: 2}, "prefetch 2"},
		{"prefetch without reorder", Rule{Fault: DuplicateDelivery, Prefetch: 10}, "only reorder"},
		{"drop-ack never times out", Rule{Fault: DropAck, AckTimeout: new(Duration(0))}, ""},
		{"negative ack timeout", Rule{Fault: DropAck, AckTimeout: new(Duration(-time.Second))}, "ack_timeout -1s"},
		{"ack timeout without drop-ack", Rule{Fault: DuplicateDelivery, AckTimeout: new(Duration(time.Second))}, "only drop-ack"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.r
			r.setDefaults()
			err := r.Validate()
			if c.want == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// A drop-ack rule without an ack timeout gets the default; an explicit 0
// (never) is kept, and written to JSON as such.
func TestDropAckTimeoutDefault(t *testing.T) {
	r := Rule{Fault: DropAck}
	r.setDefaults()
	if r.AckTimeout == nil || time.Duration(*r.AckTimeout) != DefaultAckTimeout {
		t.Fatalf("default ack timeout %v, want %s", r.AckTimeout, DefaultAckTimeout)
	}
	never := Rule{Fault: DropAck, AckTimeout: new(Duration(0))}
	never.setDefaults()
	b, err := json.Marshal(never)
	if err != nil {
		t.Fatal(err)
	}
	var back Rule
	if err := json.Unmarshal(b, &back); err != nil || back.AckTimeout == nil || *back.AckTimeout != 0 {
		t.Fatalf("ack timeout 0 through JSON %s: %v, %v", b, back.AckTimeout, err)
	}
}

func TestRuleJSONRoundTrip(t *testing.T) {
	in := Rule{ID: "x", Fault: DelayDelivery, Match: Match{Type: "T", RoutingKey: "k"}, Every: 2, Probability: new(0.25), Limit: 3, Delay: Duration(1500 * time.Millisecond)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"delay":"1.5s"`) {
		t.Fatalf("delay not written as a duration string: %s", b)
	}
	var out Rule
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Delay != in.Delay || *out.Probability != 0.25 || out.Match != in.Match || out.Every != 2 || out.Limit != 3 {
		t.Fatalf("round trip: %+v", out)
	}
	if err := json.Unmarshal([]byte(`{"fault":"delay-delivery","delay":250}`), &out); err != nil || time.Duration(out.Delay) != 250*time.Millisecond {
		t.Fatalf("milliseconds: %v %v", out.Delay, err)
	}
	if err := json.Unmarshal([]byte(`{"delay":"soon"}`), &out); err == nil {
		t.Fatal("accepted a bad duration")
	}
}

func TestDecideEveryLimitProbability(t *testing.T) {
	p := testProxy(t, "127.0.0.1:1")
	every, _ := p.AddRule(Rule{Fault: DuplicateDelivery, Every: 3, Limit: 2, Match: Match{Type: "A"}})
	info := &msgInfo{Type: "A"}
	var applied []int
	for i := 1; i <= 12; i++ {
		if r := p.decide(p.rules.Load().deliver, info, true, false); r != nil {
			applied = append(applied, i)
		}
	}
	if !slices.Equal(applied, []int{3, 6}) {
		t.Fatalf("applied on messages %v, want [3 6] (every 3rd, limit 2)", applied)
	}
	st, _ := p.Rule(every.ID)
	if st.Applied != 2 || st.Matched != 6 {
		t.Fatalf("counters %+v", st)
	}
	if p.decide(p.rules.Load().deliver, &msgInfo{Type: "B"}, true, false) != nil {
		t.Fatal("matched another type")
	}

	// The same seed gives the same decisions.
	pick := func(seed uint64) []int {
		q, err := New(Config{Upstream: "127.0.0.1:1", Rand: rand.New(rand.NewPCG(seed, seed))})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if _, err := q.AddRule(Rule{Fault: DropAck, Probability: new(0.3)}); err != nil {
			t.Fatal(err)
		}
		var hits []int
		for i := range 200 {
			if q.decide(q.rules.Load().deliver, &msgInfo{}, true, false) != nil {
				hits = append(hits, i)
			}
		}
		return hits
	}
	a, b, c := pick(5), pick(5), pick(6)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatalf("seeded decisions not reproducible or not seed-dependent: %d %d %d hits", len(a), len(b), len(c))
	}
	if len(a) < 30 || len(a) > 90 {
		t.Fatalf("%d of 200 hits at probability 0.3", len(a))
	}
	// Ineligible messages are neither matched nor counted.
	q := testProxy(t, "127.0.0.1:1")
	r, _ := q.AddRule(Rule{Fault: DropAck})
	if q.decide(q.rules.Load().deliver, &msgInfo{}, false, false) != nil {
		t.Fatal("drop-ack applied to a no-ack delivery")
	}
	if st, _ := q.Rule(r.ID); st.Matched != 0 {
		t.Fatalf("ineligible message counted: %+v", st)
	}
}

func TestPermutationNeverIdentity(t *testing.T) {
	p := testProxy(t, "127.0.0.1:1")
	for n := 2; n <= 5; n++ {
		for range 200 {
			perm := p.permutation(n)
			if slices.IsSorted(perm) {
				t.Fatalf("identity permutation of %d", n)
			}
			if s := slices.Sorted(slices.Values(perm)); s[0] != 0 || s[n-1] != n-1 {
				t.Fatalf("not a permutation: %v", perm)
			}
		}
	}
}

func TestRulesAPI(t *testing.T) {
	p := testProxy(t, "127.0.0.1:1")
	r1, err := p.AddRule(Rule{Fault: DropAck})
	if err != nil || r1.ID != "r1" {
		t.Fatalf("%+v %v", r1, err)
	}
	if _, err := p.AddRule(Rule{ID: "r1", Fault: DropAck}); !errors.Is(err, ErrRuleExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := p.AddRule(Rule{Fault: "nope"}); err == nil {
		t.Fatal("invalid rule accepted")
	}
	r2, _ := p.AddRule(Rule{Fault: DuplicatePublish, Probability: new(0.5)})
	*r2.Probability = 1 // callers' copies must not alias the installed rule
	if st, _ := p.Rule(r2.ID); *st.Probability != 0.5 {
		t.Fatal("installed rule aliased by the returned copy")
	}
	if got := p.Rules(); len(got) != 2 || got[0].ID != "r1" || got[1].ID != r2.ID {
		t.Fatalf("rules %+v", got)
	}
	if rs := p.rules.Load(); len(rs.deliver) != 1 || len(rs.publish) != 1 {
		t.Fatalf("rule points: %d deliver, %d publish", len(rs.deliver), len(rs.publish))
	}
	if err := p.RemoveRule("r1"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveRule("r1"); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	p.ClearRules()
	if len(p.Rules()) != 0 {
		t.Fatal("rules left after clear")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{Upstream: "localhost"}).Validate(); err == nil {
		t.Fatal("upstream without port accepted")
	}
	if _, err := New(Config{Upstream: "127.0.0.1:5672", Listen: "nope"}); err == nil {
		t.Fatal("bad listen address accepted")
	}
}

func TestMatchTargeting(t *testing.T) {
	info := msgInfo{Exchange: "events", RoutingKey: "ticket.created", Queue: "sla", ConsumerTag: "sla-1", MessageID: "m1", Type: "TicketCreated"}
	for _, c := range []struct {
		m    Match
		want bool
	}{
		{Match{}, true},
		{Match{Type: "TicketCreated"}, true},
		{Match{Type: "TicketClosed"}, false},
		{Match{MessageID: "m1", Queue: "sla"}, true},
		{Match{Queue: "tickets"}, false},
		{Match{ConsumerTag: "sla-1", Exchange: "events", RoutingKey: "ticket.created"}, true},
		{Match{ConsumerTag: "sla-2"}, false},
		{Match{Exchange: ""}, true},
		{Match{RoutingKey: "ticket"}, false},
	} {
		r := &rule{Rule: Rule{Match: c.m}}
		if got := r.matches(&info); got != c.want {
			t.Errorf("%+v matches = %v, want %v", c.m, got, c.want)
		}
		pre := r.prematch([]byte(info.Exchange), []byte(info.RoutingKey), info.Queue, []byte(info.ConsumerTag))
		if c.want && !pre {
			t.Errorf("%+v: prematch rejects a message that matches", c.m)
		}
	}
	if q := publishQueue(nil, []byte("inbox")); q != "inbox" {
		t.Fatalf("default-exchange publish queue %q", q)
	}
	if q := publishQueue([]byte("events"), []byte("inbox")); q != "" {
		t.Fatalf("named-exchange publish queue %q", q)
	}
}
