package invariants_test

import (
	"strings"
	"testing"

	. "github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

func cleanRun(t *testing.T, seed uint64) *history.History {
	t.Helper()
	h := synth.New(synth.Config{Seed: seed, Inquiries: 6}).History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	if v := Evaluate(h, invariants.All...); v.Outcome != OutcomePass {
		t.Fatalf("the clean run does not pass: %s: %s", v.Outcome, v.Reason)
	}
	return h
}

func TestSteadyState_FailedAfterProbe_WithAViolation_SaysBoth(t *testing.T) {
	h := cleanRun(t, 3)
	tf(h).Inquiries = tf(h).Inquiries[1:] // lose one accepted inquiry
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "end-to-end", OK: false, Detail: "no ticket"}}
	v := Evaluate(h, invariants.All...)
	if v.Outcome != OutcomeFail || !strings.HasPrefix(v.Reason, "violated: TF1") ||
		!strings.HasSuffix(v.Reason, "; also deviated: steady state not restored after the run: end-to-end (no ticket)") {
		t.Fatalf("verdict %s: %q, want FAIL naming TF1 and the deviation", v.Outcome, v.Reason)
	}
}

func TestSteadyState_Control_FailedAfterProbe_StillPasses_AlsoDeviated(t *testing.T) {
	h := cleanRun(t, 3)
	h.Meta.Control = true
	h.Meta.Expect.Violated = []string{"TF1"}
	tf(h).Inquiries = tf(h).Inquiries[1:] // the control's expected loss
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "queues-empty", OK: false, Detail: "sla-ticket-created holds 2"}}
	v := Evaluate(h, invariants.All...)
	if v.Outcome != OutcomePass || v.ExitCode != ExitPass || !strings.HasPrefix(v.Reason, "violated as expected: TF1") ||
		!strings.HasSuffix(v.Reason, "; also deviated: steady state not restored after the run: queues-empty (sla-ticket-created holds 2)") {
		t.Fatalf("verdict %s (%d): %q, want PASS (0) naming TF1 and the deviation", v.Outcome, v.ExitCode, v.Reason)
	}
	if len(v.Probes) != 1 || v.Probes[0].Status() != Deviated {
		t.Errorf("the failed probe is not a row: %+v", v.Probes)
	}
	// A control that did not break still fails, and still names the deviation.
	h.Snapshot = synth.New(synth.Config{Seed: 3, Inquiries: 6}).History.Snapshot
	v = Evaluate(h, invariants.All...)
	if v.Outcome != OutcomeFail || !strings.HasPrefix(v.Reason, "expected violation did not happen: TF1; also deviated: ") {
		t.Fatalf("control without its violation: %s: %q", v.Outcome, v.Reason)
	}
}
