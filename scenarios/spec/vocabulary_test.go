package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/check"
)

// testVoc is a copy of Ticketflow's vocabulary (system/ticketflow builds
// the real one from its contracts; this package cannot import it). The
// system's own tests check that the two agree on what scenarios use.
var testVoc = Vocabulary{
	System:      "ticketflow",
	Services:    []string{"inquiries", "tickets", "translations", "sla", "communication", "metrics"},
	Protections: []string{"confirms", "outbox", "dedup", "ordering", "retries", "idempotency"},
	MessageTypes: []string{
		"InquirySubmitted", "RequestTranslationV1", "RequestTranslationV2", "TranslationCompleted", "TranslationSkipped",
		"TicketCreated", "TicketQualified", "IncidentCreated", "AgentAssignedToTicket", "TicketBlocked", "TicketUnblocked",
		"TicketResolved", "DeadlinesCalculated", "SLABreached", "ProducerAgnosticAlertMessage",
	},
	InAppServices: []string{"inquiries", "tickets", "sla", "communication"},
	Invariants:    testInvariants,
	Workload:      testWorkloadType,
	InAppFaults: []InAppFault{
		{Name: "ConsumerErrorBeforeHandler", Consumer: true}, {Name: "ConsumerErrorAfterHandler", Consumer: true},
		{Name: "ConsumerDelayBeforeHandler", Delay: true, Consumer: true}, {Name: "ConsumerDelayAfterHandler", Delay: true, Consumer: true},
		{Name: "ProducerErrorBeforeTransaction"}, {Name: "ProducerErrorWithinTransaction"}, {Name: "ProducerErrorAfterTransaction"},
		{Name: "OutboxErrorOnSave"}, {Name: "OutboxErrorOnPublish"},
	},
}

// otherVoc is a second system with names of its own.
var otherVoc = Vocabulary{
	System:       "shop",
	Services:     []string{"orders", "payments"},
	Protections:  []string{"dedup", "ordering"},
	MessageTypes: []string{"OrderCreated"},
	Workload: &WorkloadType{Decode: func(n *yaml.Node) (WorkloadConfig, error) {
		w := &testWorkload{Rate: 5}
		_, err := DecodeBlock(n, "workload", w)
		return w, err
	}},
}

var testVocs = Vocabularies{testVoc, otherVoc}

func TestVocabularyValidate(t *testing.T) {
	if err := testVoc.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]Vocabulary{
		"no system":            {Services: []string{"a"}},
		"duplicate service":    {System: "x", Services: []string{"a", "a"}},
		"in-app not a service": {System: "x", Services: []string{"a"}, InAppServices: []string{"b"}},
	} {
		if err := v.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A scenario is judged by its own system's vocabulary: another system's
// service or message type is an error with its line, and an unknown system
// is reported once and lists the known ones.
func TestScenarioNamesComeFromItsSystem(t *testing.T) {
	shop := `name: shop-outage
description: orders loses its link
system: shop
workload: {inquiries: 5}
evidence: ["faults.applied > 0"]
protections: {dedup: {orders: off}}
method:
  - {type: outage, link: orders, duration: 2s}
  - {type: message, fault: duplicate-delivery, service: payments, match: {messageType: OrderCreated}}
`
	if _, err := Parse("shop.yaml", []byte(shop), testVocs); err != nil {
		t.Fatalf("shop scenario: %v", err)
	}
	for name, tc := range map[string]struct{ from, to, want string }{
		"ticketflow service":      {"link: orders", "link: sla", `shop.yaml:8: method[0].link: unknown link (a service) "sla" (valid: orders, payments)`},
		"ticketflow message type": {"messageType: OrderCreated", "messageType: TicketCreated", `shop.yaml:9: method[1].match.messageType: unknown message type "TicketCreated" (valid: OrderCreated)`},
		"ticketflow protection":   {"{dedup: {orders: off}}", "{outbox: off}", `shop.yaml:6: unknown protection "outbox" (valid: dedup, ordering)`},
		"protection service":      {"{dedup: {orders: off}}", "{dedup: {sla: off}}", `shop.yaml:6: unknown service "sla" (valid: orders, payments)`},
		"unknown system":          {"system: shop", "system: bank", `shop.yaml:3: system: unknown system "bank" (valid: shop, ticketflow)`},
		"hold the driver ignores": {"workload: {inquiries: 5}", "workload: {inquiries: 5, hold: {after: 2, until: {step: outage-1, phase: started}}}",
			`shop.yaml:4: workload.hold: system shop's workload does not take a hold`},
	} {
		_, err := Parse("shop.yaml", []byte(strings.Replace(shop, tc.from, tc.to, 1)), testVocs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", name, err, tc.want)
		}
		if name == "unknown system" && strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("unknown system: want one error, got %v", err)
		}
	}
}

// testInvariants stand in for Ticketflow's TF1–TF7 (ids and names only).
var testInvariants = []check.Invariant{{ID: "TF1", Name: "NoLostInquiry"}, {ID: "TF2", Name: "ExactlyOnceEffects"},
	{ID: "TF3", Name: "SLAVersionOrder"}, {ID: "TF4", Name: "TranslationCompleteness"}, {ID: "TF5", Name: "SLAOracle"},
	{ID: "TF6", Name: "CrossServiceConvergence"}, {ID: "TF7", Name: "NoGhostEvents"}}

// testWorkload is a small copy of Ticketflow's workload block
// (system/ticketflow/lab/workload.Spec), for the parser's tests.
type testWorkload struct {
	Inquiries    int                `yaml:"inquiries"`
	Rate         float64            `yaml:"rate"`
	Languages    map[string]float64 `yaml:"languages"`
	ResolveShare *float64           `yaml:"resolveShare"`
	Think        Duration           `yaml:"think"`
}

func (w *testWorkload) Span() time.Duration {
	return time.Duration(float64(w.Inquiries) / w.Rate * float64(time.Second))
}

var testWorkloadType = &WorkloadType{
	Holds:      true,
	Properties: map[string]any{"inquiries": map[string]any{"type": "integer"}},
	Decode: func(n *yaml.Node) (WorkloadConfig, error) {
		w := &testWorkload{}
		lines, err := DecodeBlock(n, "workload", w)
		if err != nil {
			return nil, err
		}
		if w.Rate == 0 {
			w.Rate = 5
		}
		var errs []error
		if w.Inquiries < 1 {
			errs = append(errs, FieldError(n.Line, "workload.inquiries", "want 1 to 1000000 inquiries, got %d", w.Inquiries))
		}
		if w.Think < 0 {
			errs = append(errs, FieldError(lines["workload.think"], "workload.think", "must not be negative"))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		return w, nil
	},
}
