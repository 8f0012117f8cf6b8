package workload_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestPlanIsSeeded(t *testing.T) {
	cfg, err := workload.Decode(node(t, "tickets: 50\nusers: 8\nracers: 2\nthink: 300ms\ndoublePayShare: 0.5\ncancelPaidShare: 0.3\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := workload.NewPlan(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := workload.NewPlan(cfg, 7)
	if !reflect.DeepEqual(a, b) {
		t.Error("two plans of one seed differ")
	}
	c, _ := workload.NewPlan(cfg, 8)
	ja, _ := json.Marshal(a.Tickets)
	jc, _ := json.Marshal(c.Tickets)
	if string(ja) == string(jc) {
		t.Error("plans of seeds 7 and 8 are equal")
	}
	counts := a.Counts()
	if counts.Tickets != 50 || counts.Updates != 50 || counts.Ordered != 50 || counts.Orders != 100 ||
		counts.Pay+counts.Cancel+counts.Expire != 50 {
		t.Errorf("counts %+v", counts)
	}
	// Every share shows up at this size: a plan that ignored one would not.
	if counts.Pay == 0 || counts.Cancel == 0 || counts.Expire == 0 || counts.DoublePay == 0 || counts.CancelPaid == 0 {
		t.Errorf("a share never drawn: %+v", counts)
	}
	for _, tk := range a.Tickets {
		if len(tk.Buyers) != 2 || tk.Buyers[0] == tk.Buyers[1] {
			t.Errorf("ticket %d: racers %v, want two distinct buyers", tk.Seq, tk.Buyers)
		}
		if len(tk.Pauses) != 3 {
			t.Errorf("ticket %d: %d pauses, want 3", tk.Seq, len(tk.Pauses))
		}
		for _, p := range tk.Pauses {
			if p < 0 || p >= 300*time.Millisecond {
				t.Errorf("ticket %d: pause %s out of [0, 300ms)", tk.Seq, p)
			}
		}
		if want := time.Duration(float64(tk.Seq) / 5 * float64(time.Second)); tk.At != want {
			t.Errorf("ticket %d at %s, want %s", tk.Seq, tk.At, want)
		}
		if (tk.DoublePay || tk.CancelPaid) && tk.Action != workload.ActionPay {
			t.Errorf("ticket %d: double pay or cancel-paid on %s", tk.Seq, tk.Action)
		}
	}
	if len(a.Buyers) != 8 || len(a.Sellers) != 2 || !strings.Contains(a.Buyers[0], "-7-") {
		t.Errorf("accounts %v %v", a.Sellers, a.Buyers)
	}
}

// The course's experiment: 200 tickets, each 5 → 10 → 15, nobody orders.
func TestPriceUpdateRacePlan(t *testing.T) {
	cfg, err := workload.Decode(node(t, "tickets: 200\nprices: [5, 10, 15]\norderShare: 0\nrate: 10000\nmaxInFlight: 200\nsellers: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Users != 0 {
		t.Errorf("users %d, want 0 when nothing is ordered", cfg.Users)
	}
	p, err := workload.NewPlan(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Counts(); c.Tickets != 200 || c.Updates != 400 || c.Ordered != 0 {
		t.Errorf("counts %+v", c)
	}
	for _, tk := range p.Tickets {
		if !reflect.DeepEqual(tk.Prices, []float64{5, 10, 15}) || len(tk.Buyers) != 0 {
			t.Fatalf("ticket %+v", tk)
		}
	}
	if p.Duration() >= 100*time.Millisecond {
		t.Errorf("all 200 should start within 100ms, plan takes %s", p.Duration())
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := workload.Decode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Users != workload.DefaultUsers || cfg.Tickets != workload.DefaultTickets || *cfg.PayShare != workload.DefaultPayShare ||
		*cfg.PriceUpdates != 1 || cfg.Racers != 1 || *cfg.DoublePayShare != 0 {
		t.Errorf("defaults %+v", cfg)
	}
	// A share written 0 stays 0.
	cfg, err = workload.Decode(node(t, "payShare: 0\n"))
	if err != nil || *cfg.PayShare != 0 {
		t.Errorf("payShare 0: %v %v", *cfg.PayShare, err)
	}
}

func TestDecodeNamesFieldAndLine(t *testing.T) {
	for _, c := range []struct {
		src, field string
		line       int
		msg        string
	}{
		{"tickets: 5\npayShare: 1.5\n", "payShare", 2, "between 0 and 1"},
		{"tickets: 5\nbogus: 3\n", "bogus", 2, "unknown field"},
		{"users: 1\n\nracers: 3\n", "users", 1, "at least racers"},
		{"tickets: many\n", "tickets", 1, "whole number"},
		{"rate: fast\n", "rate", 1, "cannot unmarshal"},
		{"rate: 0.5\nthink: soon\n", "think", 2, "duration"},
		{"payShare: 0.7\ncancelShare: 0.5\n", "cancelShare", 2, "must not exceed 1"},
		{"prices: [5, 10]\npriceUpdates: 2\n", "priceUpdates", 2, "not both"},
		{"prices: [5, -1]\n", "prices", 1, "price 2"},
		{"rate: -2\n", "rate", 1, "above 0"},
		{"sellers: -1\n", "sellers", 1, "between 1"},
		{"tickets: 3\nracers: 0.5\n", "racers", 2, "whole number"},
		{"tickets: [1]\n", "tickets", 1, "whole number"},
	} {
		_, err := workload.Decode(node(t, c.src))
		var fe *workload.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Line != c.line || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: got %v (%+v), want workload.%s at line %d with %q", c.src, err, fe, c.field, c.line, c.msg)
		}
	}
	if _, err := workload.Decode(node(t, "- 1\n")); err == nil {
		t.Error("a list was accepted as a workload block")
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	bad := -1.0
	cfg := workload.Config{Users: -1, Sellers: 1, Tickets: 0, Rate: 1, PayShare: &bad}.WithDefaults()
	cfg.Tickets = 0
	err := cfg.Validate()
	for _, f := range []string{"workload.users", "workload.tickets", "workload.payShare"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate: %v, want %s named", err, f)
		}
	}
}

func TestSchemaNamesEveryField(t *testing.T) {
	props := workload.Properties()
	for _, f := range workload.Fields() {
		if _, ok := props[f]; !ok {
			t.Errorf("no schema for %s", f)
		}
	}
	if len(props) != len(workload.Fields()) {
		t.Errorf("%d properties, %d fields", len(props), len(workload.Fields()))
	}
}

func TestSpan(t *testing.T) {
	if got := (workload.Config{Tickets: 11, Rate: 2}).Span(); got != 5*time.Second {
		t.Errorf("span %s, want 5s", got)
	}
	if got := (workload.Config{Tickets: 1, Rate: 2}).Span(); got != 0 {
		t.Errorf("one ticket: span %s", got)
	}
}
