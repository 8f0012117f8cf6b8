package check

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/history/synth"
)

// cleanRun is a synthetic run in which every invariant holds and the fault
// left its evidence.
func cleanRun(t *testing.T, seed uint64) *history.History {
	t.Helper()
	h := synth.New(synth.Config{Seed: seed, Inquiries: 6}).History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	if v := Evaluate(h, Ticketflow...); v.Outcome != OutcomePass {
		t.Fatalf("the clean run does not pass: %s: %s", v.Outcome, v.Reason)
	}
	return h
}

func TestSteadyState_FailedAfterProbe_EveryInvariantHeld_Deviated_Fail(t *testing.T) {
	h := cleanRun(t, 2)
	h.Probes = []history.Probe{
		{Phase: history.ProbeAfter, Name: "queues-empty", OK: false, Detail: "tickets-inquiry-submitted holds 3", Took: history.Duration(30 * time.Second)},
		{Phase: history.ProbeBefore, Name: "services-healthy", OK: true, Detail: "ok"},
	}
	v := Evaluate(h, Ticketflow...)
	want := "deviated: steady state not restored after the run: queues-empty (tickets-inquiry-submitted holds 3)"
	if v.Outcome != OutcomeFail || v.ExitCode != ExitViolated || v.Reason != want {
		t.Fatalf("verdict %s (%d): %q, want FAIL (4): %q", v.Outcome, v.ExitCode, v.Reason, want)
	}
	for _, r := range v.Results {
		if r.Status == Violated {
			t.Errorf("%s violated: the deviation must be the only finding", r.ID)
		}
	}
	if len(v.Probes) != 2 || v.Probes[0].Phase != history.ProbeBefore || v.Probes[1].Status() != Deviated ||
		v.Probes[1].Took != history.Duration(30*time.Second) || v.Probes[0].Status() != Pass {
		t.Errorf("probe rows %+v", v.Probes)
	}
	h.Probes[0].OK = true
	if v := Evaluate(h, Ticketflow...); v.Outcome != OutcomePass {
		t.Fatalf("with the probe passing: %s: %s", v.Outcome, v.Reason)
	}
}

func TestSteadyState_FailedAfterProbe_NoEvidence_StillDeviated(t *testing.T) {
	h := cleanRun(t, 4)
	h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 100}}
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "end-to-end", Detail: "no ticket"}}
	if v := Evaluate(h, Ticketflow...); v.Outcome != OutcomeFail || !strings.HasPrefix(v.Reason, "deviated: ") {
		t.Fatalf("verdict %s: %s, want FAIL deviated (a finding outranks missing evidence)", v.Outcome, v.Reason)
	}
}

func TestSteadyState_FailedAfterProbe_WithAViolation_SaysBoth(t *testing.T) {
	h := cleanRun(t, 3)
	h.Snapshot.Inquiries = h.Snapshot.Inquiries[1:] // lose one accepted inquiry
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "end-to-end", OK: false, Detail: "no ticket"}}
	v := Evaluate(h, Ticketflow...)
	if v.Outcome != OutcomeFail || !strings.HasPrefix(v.Reason, "violated: TF1") ||
		!strings.HasSuffix(v.Reason, "; also deviated: steady state not restored after the run: end-to-end (no ticket)") {
		t.Fatalf("verdict %s: %q, want FAIL naming TF1 and the deviation", v.Outcome, v.Reason)
	}
}

func TestSteadyState_Control_FailedAfterProbe_StillPasses_AlsoDeviated(t *testing.T) {
	h := cleanRun(t, 3)
	h.Meta.Control = true
	h.Meta.Expect.Violated = []string{"TF1"}
	h.Snapshot.Inquiries = h.Snapshot.Inquiries[1:] // the control's expected loss
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "queues-empty", OK: false, Detail: "sla-ticket-created holds 2"}}
	v := Evaluate(h, Ticketflow...)
	if v.Outcome != OutcomePass || v.ExitCode != ExitPass || !strings.HasPrefix(v.Reason, "violated as expected: TF1") ||
		!strings.HasSuffix(v.Reason, "; also deviated: steady state not restored after the run: queues-empty (sla-ticket-created holds 2)") {
		t.Fatalf("verdict %s (%d): %q, want PASS (0) naming TF1 and the deviation", v.Outcome, v.ExitCode, v.Reason)
	}
	if len(v.Probes) != 1 || v.Probes[0].Status() != Deviated {
		t.Errorf("the failed probe is not a row: %+v", v.Probes)
	}
	// A control that did not break still fails, and still names the deviation.
	h.Snapshot = synth.New(synth.Config{Seed: 3, Inquiries: 6}).History.Snapshot
	v = Evaluate(h, Ticketflow...)
	if v.Outcome != OutcomeFail || !strings.HasPrefix(v.Reason, "expected violation did not happen: TF1; also deviated: ") {
		t.Fatalf("control without its violation: %s: %q", v.Outcome, v.Reason)
	}
}

func TestSteadyState_FailedBeforeProbe_NotStarted_Inconclusive(t *testing.T) {
	h := &history.History{Meta: history.Meta{Scenario: "x", Evidence: []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}},
		Probes: []history.Probe{
			{Phase: history.ProbeBefore, Name: "services-healthy", OK: true, Detail: "ok"},
			{Phase: history.ProbeBefore, Name: "end-to-end", OK: false, Detail: "inquiry 7 did not become a ready ticket within 1ms"},
		}}
	v := Evaluate(h, Ticketflow...)
	want := "not started: steady state not met before the method: end-to-end (inquiry 7 did not become a ready ticket within 1ms)"
	if v.Outcome != OutcomeInconclusive || v.ExitCode != ExitInconclusive || v.Reason != want {
		t.Fatalf("verdict %s (%d): %q, want INCONCLUSIVE (5): %q", v.Outcome, v.ExitCode, v.Reason, want)
	}
	if len(v.Results) != len(Invariants) {
		t.Fatalf("%d invariant rows", len(v.Results))
	}
	for _, r := range v.Results {
		if r.Status != Skipped || r.Reason != "not judged: the run did not start" {
			t.Errorf("%s: %s (%s), want SKIPPED: the method never ran", r.ID, r.Status, r.Reason)
		}
	}
	if len(v.Probes) != 2 || v.Probes[1].Status() != NotMet || v.Probes[1].Title() != "steady state before: end-to-end" {
		t.Errorf("probe rows %+v", v.Probes)
	}
	// A negative control that did not start is not started either.
	h.Meta.Control, h.Meta.Expect.Violated = true, []string{"TF2"}
	if v := Evaluate(h, Ticketflow...); v.Outcome != OutcomeInconclusive || v.Reason != want {
		t.Fatalf("control: %s: %q", v.Outcome, v.Reason)
	}
}
