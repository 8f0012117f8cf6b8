package check

import (
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

func unfired() history.Fault {
	return history.Fault{Name: "broker-down", Type: "broker", Op: "stop", When: "sla handled TicketQualified ≥5",
		NeverFired: true, Error: "never fired: when sla handled TicketQualified ≥5"}
}

func TestNeverFiredStep_MakesAPassInconclusive_NamingTheStep(t *testing.T) {
	h := synth.New(synth.Config{Seed: 2, Inquiries: 6}).History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	if v := Evaluate(h); v.Outcome != OutcomePass {
		t.Fatalf("before: %s: %s", v.Outcome, v.Reason)
	}
	h.Faults = append(h.Faults, unfired())
	v := Evaluate(h)
	if v.Outcome != OutcomeInconclusive || v.ExitCode != ExitInconclusive ||
		!strings.Contains(v.Reason, "broker-down (when sla handled TicketQualified ≥5)") {
		t.Fatalf("verdict %s (%d): %s", v.Outcome, v.ExitCode, v.Reason)
	}
}

func TestNeverFiredStep_MakesAControlInconclusive_NotFailed(t *testing.T) {
	h := synth.New(synth.Config{Seed: 2, Inquiries: 6}).History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	h.Meta.Control, h.Meta.Expect.Violated = true, []string{"TF9"}
	if v := Evaluate(h); v.Outcome != OutcomeFail {
		t.Fatalf("control without its violation: %s: %s", v.Outcome, v.Reason)
	}
	h.Faults = append(h.Faults, unfired())
	if v := Evaluate(h); v.Outcome != OutcomeInconclusive || !strings.Contains(v.Reason, "broker-down") {
		t.Fatalf("verdict %s: %s", v.Outcome, v.Reason)
	}
}

func TestNeverFiredStep_DoesNotHideAnUnexpectedViolation(t *testing.T) {
	h := synth.New(synth.Config{Seed: 3, Inquiries: 6}).History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	orphan(t, h) // break TF9
	h.Faults = append(h.Faults, unfired())
	if v := Evaluate(h); v.Outcome != OutcomeFail {
		t.Fatalf("verdict %s: %s", v.Outcome, v.Reason)
	}
}
