package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// A run that names a console links its report's violations to the
// console's follow-a-message page of the run; without one, it does not.
func TestRunFilesLinkViolationsToTheConsole(t *testing.T) {
	h := synth.New(synth.Config{Seed: 3, Inquiries: 2}).History
	id := h.Events[0].TraceID.String()
	v := check.Verdict{Outcome: check.OutcomeFail, Results: []check.Result{{ID: "TF2", Name: "ExactlyOnceEffects",
		Status: check.Violated, Violations: []check.Violation{{Category: check.DuplicatedEffect, Subject: "ticket x", TraceIDs: []string{id}}}}}}
	for _, console := range []string{"", "http://127.0.0.1:21080"} {
		dir := filepath.Join(t.TempDir(), "20260101-000000-quickstart")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeRunFiles(dir, h, v, nil, console); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, ReportFile))
		if err != nil {
			t.Fatal(err)
		}
		link := `href="http://127.0.0.1:21080/trace?run=20260101-000000-quickstart&amp;id=` + id + `"`
		if got := strings.Contains(string(b), link); got != (console != "") {
			t.Errorf("console %q: report links the console's waterfall: %v", console, got)
		}
		if !strings.Contains(string(b), `<a href="#trace-`+id+`">`) {
			t.Errorf("console %q: the report does not link the violation to its own waterfall", console)
		}
	}
}
