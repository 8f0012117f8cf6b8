package check

import (
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/history/synth"
)

func TestSteadyState_FailedAfterProbe_MakesAPassInconclusive(t *testing.T) {
	res := synth.New(synth.Config{Seed: 2, Inquiries: 6})
	h := res.History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	h.Probes = []history.Probe{
		{Phase: history.ProbeBefore, Name: "services-healthy", OK: true},
		{Phase: history.ProbeAfter, Name: "queues-empty", OK: false, Detail: "tickets-inquiry-submitted holds 3"},
	}
	v := Evaluate(h)
	if v.Outcome != OutcomeInconclusive || v.ExitCode != ExitInconclusive || !strings.Contains(v.Reason, "queues-empty (tickets-inquiry-submitted holds 3)") {
		t.Fatalf("verdict %s (%d): %s", v.Outcome, v.ExitCode, v.Reason)
	}
	h.Probes[1].OK = true
	if v := Evaluate(h); v.Outcome != OutcomePass {
		t.Fatalf("with the probe passing: %s: %s", v.Outcome, v.Reason)
	}
}

func TestSteadyState_FailedAfterProbe_DoesNotHideAViolation(t *testing.T) {
	res := synth.New(synth.Config{Seed: 3, Inquiries: 6})
	h := res.History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	h.Snapshot.Inquiries = h.Snapshot.Inquiries[1:] // lose one accepted inquiry
	h.Probes = []history.Probe{{Phase: history.ProbeAfter, Name: "end-to-end", OK: false, Detail: "no ticket"}}
	if v := Evaluate(h); v.Outcome != OutcomeFail {
		t.Fatalf("verdict %s: %s", v.Outcome, v.Reason)
	}
}
