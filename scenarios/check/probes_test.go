package check

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// cleanRun is a synthetic run in which every invariant holds and the fault
// left its evidence.
func cleanRun(t *testing.T, seed uint64) *history.History {
	t.Helper()
	h := synth.New(synth.Config{Seed: seed, Inquiries: 6}).History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	if v := Evaluate(h); v.Outcome != OutcomePass {
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
	v := Evaluate(h)
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
	if v := Evaluate(h); v.Outcome != OutcomePass {
		t.Fatalf("with the probe passing: %s: %s", v.Outcome, v.Reason)
	}
}

func TestSteadyState_FailedAfterProbe_NoEvidence_StillDeviated(t *testing.T) {
	h := cleanRun(t, 4)
	h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 100}}
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "end-to-end", Detail: "no ticket"}}
	if v := Evaluate(h); v.Outcome != OutcomeFail || !strings.HasPrefix(v.Reason, "deviated: ") {
		t.Fatalf("verdict %s: %s, want FAIL deviated (a finding outranks missing evidence)", v.Outcome, v.Reason)
	}
}

func TestSteadyState_FailedBeforeProbe_NotStarted_Inconclusive(t *testing.T) {
	h := &history.History{Meta: history.Meta{Scenario: "x", Evidence: []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}},
		Probes: []history.Probe{
			{Phase: history.ProbeBefore, Name: "services-healthy", OK: true, Detail: "ok"},
			{Phase: history.ProbeBefore, Name: "end-to-end", OK: false, Detail: "inquiry 7 did not become a ready ticket within 1ms"},
		}}
	v := Evaluate(h)
	want := "not started: steady state not met before the method: end-to-end (inquiry 7 did not become a ready ticket within 1ms)"
	if v.Outcome != OutcomeInconclusive || v.ExitCode != ExitInconclusive || v.Reason != want {
		t.Fatalf("verdict %s (%d): %q, want INCONCLUSIVE (5): %q", v.Outcome, v.ExitCode, v.Reason, want)
	}
	if len(v.Results) != len(Generic) {
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
	if v := Evaluate(h); v.Outcome != OutcomeInconclusive || v.Reason != want {
		t.Fatalf("control: %s: %q", v.Outcome, v.Reason)
	}
}
