package check

import (
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// orphan breaks TF9 (ConnectedTraces): a handling's parent span is one
// that was never recorded.
func orphan(t *testing.T, h *history.History) {
	t.Helper()
	synth.Find(t, h, history.KindProcess, "tickets", "InquirySubmitted", "").ParentID[0] ^= 0xff
}

func result(t *testing.T, v Verdict, id string) Result {
	t.Helper()
	r, ok := v.Result(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	return r
}
