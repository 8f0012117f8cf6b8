package messaging

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseProtections(t *testing.T) {
	cases := []struct {
		off  []string
		want Protections
	}{
		{nil, AllProtections()},
		{[]string{"dedup"}, Protections{Confirms: true, Outbox: true, Ordering: true, Retries: true}},
		{[]string{"Confirms", " outbox ", "confirms"}, Protections{Dedup: true, Ordering: true, Retries: true}},
		{ProtectionNames, Protections{}},
	}
	for _, c := range cases {
		got, err := ParseProtections(c.off)
		if err != nil {
			t.Fatalf("%v: %v", c.off, err)
		}
		if got != c.want {
			t.Errorf("%v: got %+v, want %+v", c.off, got, c.want)
		}
		for _, n := range c.off {
			if got.On(strings.ToLower(strings.TrimSpace(n))) {
				t.Errorf("%v: %s still on", c.off, n)
			}
		}
	}
	_, err := ParseProtections([]string{"dedup", "idempotency"})
	if err == nil {
		t.Fatal("unknown name accepted")
	}
	for _, n := range append([]string{`"idempotency"`}, ProtectionNames...) {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not mention %s", err, n)
		}
	}
}

func TestSplitProtections(t *testing.T) {
	ours, rest := SplitProtections([]string{"dedup", "idempotency", "Outbox"})
	if len(ours) != 2 || ours[0] != "dedup" || ours[1] != "Outbox" || len(rest) != 1 || rest[0] != "idempotency" {
		t.Fatalf("ours %v rest %v", ours, rest)
	}
	if _, err := ParseProtections(ours); err != nil {
		t.Fatal(err)
	}
}

func TestProtectionsString(t *testing.T) {
	if s := AllProtections().String(); s != "all on" {
		t.Errorf("all on: %q", s)
	}
	p, _ := ParseProtections([]string{"retries", "dedup"})
	if s := p.String(); s != "off: dedup,retries" {
		t.Errorf("got %q", s)
	}
	if off := p.Off(); len(off) != 2 || off[0] != ProtDedup || off[1] != ProtRetries {
		t.Errorf("Off() = %v", off)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	b := Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2, Jitter: 0.5}
	want := []time.Duration{10, 20, 40, 80, 100, 100}
	for n, w := range want {
		if got := b.Delay(n, nil); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %s, want %s", n, got, w*time.Millisecond)
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for n := range 50 {
		full := b.Delay(n, nil)
		got := b.Delay(n, r)
		if got > full || got < full/2 {
			t.Fatalf("jittered Delay(%d) = %s outside [%s, %s]", n, got, full/2, full)
		}
	}
	// Same seed, same sequence.
	r1, r2 := rand.New(rand.NewPCG(1, 1)), rand.New(rand.NewPCG(1, 1))
	for n := range 10 {
		if b.Delay(n, r1) != b.Delay(n, r2) {
			t.Fatal("jitter not reproducible from the seed")
		}
	}
	if (Backoff{Initial: time.Second, Max: time.Millisecond}).Validate() == nil {
		t.Error("initial > max accepted")
	}
	if (Backoff{Jitter: 2}).Validate() == nil {
		t.Error("jitter 2 accepted")
	}
}

func TestDecideOrder(t *testing.T) {
	cases := []struct {
		last    int64
		seen    bool
		version int64
		first   int64
		want    OrderOutcome
	}{
		{0, false, 1, 0, OrderApplied},
		{0, false, 7, 0, OrderApplied}, // first seen, start unknown
		{0, false, 1, 1, OrderApplied}, // known start
		{0, false, 3, 1, OrderEarly},   // known start: 3 must wait for 1 and 2
		{0, false, 0, 1, OrderStale},   // before the known start
		{1, true, 2, 1, OrderApplied},
		{1, true, 2, 0, OrderApplied},
		{1, true, 1, 0, OrderStale}, // duplicate
		{3, true, 2, 0, OrderStale}, // older
		{1, true, 3, 0, OrderEarly},
		{1, true, 100, 1, OrderEarly},
	}
	for _, c := range cases {
		if got := DecideOrder(c.last, c.seen, c.version, c.first); got != c.want {
			t.Errorf("DecideOrder(last=%d, seen=%v, v=%d, first=%d) = %s, want %s", c.last, c.seen, c.version, c.first, got, c.want)
		}
	}
}

// TestOrderingSequence replays 1,3,2,2,3 (3 retried after being early)
// through the rule and checks what gets applied.
func TestOrderingSequence(t *testing.T) {
	var last int64
	seen := false
	var applied []int64
	var outcomes []OrderOutcome
	queue := []int64{1, 3, 2, 2}
	for i := 0; i < len(queue) && i < 10; i++ {
		v := queue[i]
		out := DecideOrder(last, seen, v, 1)
		outcomes = append(outcomes, out)
		switch out {
		case OrderApplied:
			applied = append(applied, v)
			last, seen = v, true
		case OrderEarly:
			queue = append(queue, v) // held back, retried later
		}
	}
	if len(applied) != 3 || applied[0] != 1 || applied[1] != 2 || applied[2] != 3 {
		t.Fatalf("applied %v, want [1 2 3]", applied)
	}
	want := []OrderOutcome{OrderApplied, OrderEarly, OrderApplied, OrderStale, OrderApplied}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", outcomes, want)
		}
	}
}

// TestOrderingKnownStart replays 3,1,2: with the start known (first=1) every
// version is applied in order; with it unknown the guard starts at 3 and the
// real first versions are lost as stale. This is the bug a reordered
// TicketCreated exposed live.
func TestOrderingKnownStart(t *testing.T) {
	replay := func(first int64) []int64 {
		var last int64
		seen := false
		var applied []int64
		queue := []int64{3, 1, 2}
		for i := 0; i < len(queue) && i < 20; i++ {
			v := queue[i]
			switch DecideOrder(last, seen, v, first) {
			case OrderApplied:
				applied = append(applied, v)
				last, seen = v, true
			case OrderEarly:
				queue = append(queue, v)
			}
		}
		return applied
	}
	if got := replay(1); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("known start: applied %v, want [1 2 3]", got)
	}
	if got := replay(0); len(got) != 1 || got[0] != 3 {
		t.Fatalf("unknown start: applied %v, want [3] (the first versions lost)", got)
	}
}
