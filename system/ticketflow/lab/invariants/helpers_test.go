package invariants_test

import (
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
)

// tf returns h's Ticketflow snapshot, to break in place (synth builds one).
func tf(h *history.History) *tfhistory.Snapshot {
	s, err := tfhistory.Of(h)
	if err != nil || s == nil {
		panic("no Ticketflow snapshot in the history")
	}
	h.Snapshot.System = history.NewSystemSnapshot(s) // hold the typed value, so edits stay
	return s
}
