//go:build integration

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/report"
)

// A steady state that cannot hold before the method (an end-to-end probe
// with 1 ms to get a ticket through the real lab): `tflab run` injects
// nothing, exits 5 saying which probe failed and why, and still writes the
// run's reports and prints the verdict table with the probes as rows.
func TestRunExitsInconclusiveWhenTheSteadyStateFailsBefore(t *testing.T) {
	work := t.TempDir()
	file := filepath.Join(work, "not-started.yaml")
	src := `name: not-started
description: The steady state cannot hold before the method, so the run never starts.
workload: {inquiries: 2}
steadyState:
  before:
    - probe: services-healthy
    - probe: end-to-end
      timeout: 1ms
method:
  - at: 1s
    duration: 1s
    type: outage
    link: tickets
evidence: ["connections.reopened > 0"]
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(work, "out.xml")
	stdout, stderr, code := runTflab(t, work, nil, "run", file, "--out", filepath.Join(work, "runs"), "--junit", junit, "--progress=false")
	if code != int(ExitInconclusive) {
		t.Fatalf("exit %d, want 5\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	const reason = "not started: steady state not met before the method: end-to-end ("
	if !strings.Contains(stderr, "tflab: INCONCLUSIVE: "+reason) || !strings.Contains(stderr, "within 1ms") {
		t.Errorf("stderr does not say which probe failed and why:\n%s", stderr)
	}
	for _, want := range []string{"steady state before: services-healthy", "PASS", "steady state before: end-to-end", "NOT MET",
		"not judged: the run did not start", "verdict: INCONCLUSIVE (exit 5) " + reason} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the verdict table lacks %q:\n%s", want, stdout)
		}
	}
	var runDir string
	for line := range strings.Lines(stdout) {
		if rest, ok := strings.CutPrefix(line, "run directory: "); ok {
			runDir, _, _ = strings.Cut(rest, " ")
		}
	}
	if runDir == "" {
		t.Fatalf("no run directory in:\n%s", stdout)
	}
	if !filepath.IsAbs(runDir) {
		runDir = filepath.Join(work, runDir)
	}
	f, err := os.Open(filepath.Join(runDir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	j, err := report.ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	if j.Verdict.ExitCode != 5 || len(j.Timeline) != 0 || len(j.Verdicts) == 0 || j.Verdicts[1].Probe != "end-to-end" || j.Verdicts[1].Result != "NOT MET" {
		t.Errorf("journal: verdict %+v, %d faults, rows %+v", j.Verdict, len(j.Timeline), j.Verdicts)
	}
	for _, path := range []string{filepath.Join(runDir, "report.html"), filepath.Join(runDir, "junit.xml"), junit} {
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), "end-to-end") {
			t.Errorf("%s lacks the failed probe (%v)", path, err)
		}
	}
}
