package invariants_test

import (
	. "github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

func TestCleanHistoryPasses(t *testing.T) {
	res := synth.New(synth.Config{Seed: 1, Inquiries: 24})
	res.History.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	res.History.Meta.Broker = &history.BrokerMeta{Nodes: 3} // so Q1 TotalQueue is judged too
	v := Evaluate(res.History, invariants.All...)
	for _, r := range v.Results {
		if r.Status != Pass {
			t.Errorf("%s %s = %s: %s; violations: %v", r.ID, r.Name, r.Status, r.Reason, r.Violations)
		}
		if r.Checked == 0 {
			t.Errorf("%s checked nothing", r.ID)
		}
	}
	if v.Outcome != OutcomePass || v.ExitCode != ExitPass {
		t.Fatalf("verdict %s (%d): %s", v.Outcome, v.ExitCode, v.Reason)
	}
}
