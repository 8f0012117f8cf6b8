package main

import (
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

func TestExitCodesMatchTheVerdicts(t *testing.T) {
	if ExitCode(check.ExitPass) != ExitPass || ExitCode(check.ExitViolated) != ExitViolated || ExitCode(check.ExitInconclusive) != ExitInconclusive {
		t.Fatal("check's exit codes and the CLI's differ")
	}
}

func TestScenariosListAndShow(t *testing.T) {
	out, stderr, code := runInProcess(t, nil, "scenarios", "list")
	if code != ExitPass || !strings.Contains(out, "quickstart") || !strings.Contains(out, "unprotect outbox,confirms → TF1") {
		t.Fatalf("list: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = runInProcess(t, nil, "scenarios", "show", "quickstart")
	if code != ExitPass || !strings.Contains(out, "name: quickstart") || !strings.Contains(out, "# negative control (seed 1") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	_, stderr, code = runInProcess(t, nil, "scenarios", "show", "no-such-scenario")
	if code != ExitUsage || !strings.Contains(stderr, "neither a built-in scenario") {
		t.Fatalf("unknown scenario: exit %d\n%s", code, stderr)
	}
}

func TestRunRejectsAMalformedScenarioFileWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	src := "name: bad\ndescription: d\nworkload: {inquiries: 2}\nmethod:\n  - at: 1s\n    type: outage\n    lnk: tickets\nevidence: [\"connections.reopened > 0\"]\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runInProcess(t, nil, "run", bad, "--out", dir)
	if code != ExitUsage || !strings.Contains(stderr, bad+":7: unknown field \"lnk\"") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	_, stderr, code = runInProcess(t, nil, "run", "quickstart", "--unprotect", "dedup:mail", "--out", dir)
	if code != ExitUsage || !strings.Contains(stderr, "mail") {
		t.Fatalf("bad --unprotect: exit %d, stderr:\n%s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("a refused run created run directories: %v", entries)
	}
}

// Every error in a scenario file at once, decoding and validation alike,
// one "file:line: message" per line, before any lab starts.
func TestRunListsEveryErrorOfAScenarioFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	src := "name: Bad Name\n" + // 1: validation
		"description: d\n" +
		"workload:\n" +
		"  inquiries: many\n" + // 4: wrong type
		"method:\n" +
		"  - at: 2 seconds\n" + // 6: bad duration
		"    type: outage\n" +
		"    link: mail\n" + // 8: unknown service
		"invariants: [TF1, TF99]\n" + // 9: unknown invariant
		"evidence: [\"dedup.skips > 0\"]\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runInProcess(t, nil, "run", bad, "--out", dir)
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := []string{
		"tflab: " + bad + " has 5 errors:",
		bad + ":1: name: ",
		bad + ":4: cannot unmarshal",
		bad + ":6: bad duration \"2 seconds\"",
		bad + ":8: method[0].link: unknown link (a service) \"mail\"",
		bad + ":9: invariants[1]: unknown invariant \"TF99\"",
	}
	if len(lines) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(want), stderr)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d: %q, want %q…", i+1, lines[i], want[i])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a refused run created run directories: %v", entries)
	}
}

// tflab verify re-judges a saved run to the verdict it was saved with, and
// exits with its code.
func TestVerifyReproducesASavedVerdict(t *testing.T) {
	dir := t.TempDir()
	res := synth.New(synth.Config{Seed: 5, Inquiries: 10})
	h := res.History
	h.Meta.Scenario = "saved"
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	tf(h).Tickets = tf(h).Tickets[2:] // two inquiries never became tickets
	v := check.Evaluate(h, invariants.All...)
	if err := run.WriteRunFiles(dir, h, v); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runInProcess(t, nil, "verify", dir)
	if code != ExitViolated || ExitCode(v.ExitCode) != ExitViolated {
		t.Fatalf("exit %d (saved %d)\n%s%s", code, v.ExitCode, out, stderr)
	}
	if !strings.Contains(out, "TF1 NoLostInquiry") || !strings.Contains(out, "verdict: FAIL (exit 4) "+v.Reason) ||
		!strings.Contains(out, "spans/s") || !strings.Contains(out, "peak heap") {
		t.Fatalf("output:\n%s", out)
	}
	_, stderr, code = runInProcess(t, nil, "verify", filepath.Join(dir, "nope"))
	if code != ExitUsage {
		t.Fatalf("missing dir: exit %d\n%s", code, stderr)
	}
}

func TestVerifySynthesizedSpans(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := runInProcess(t, nil, "verify", "--synthesize", "3000", dir)
	if code == ExitPass || code == ExitError || code == ExitUsage {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "verified 3000 spans from span files") || !strings.Contains(stderr, "synthesized 3000 spans") {
		t.Fatalf("output:\n%s\nstderr:\n%s", out, stderr)
	}
}

// tf returns h's Ticketflow snapshot, to break in place (a loaded
// history's JSON is decoded once and then held typed).
func tf(h *history.History) *tfhistory.Snapshot {
	s, err := tfhistory.Of(h)
	if err != nil || s == nil {
		panic("no Ticketflow snapshot in the history")
	}
	h.Snapshot.System = history.NewSystemSnapshot(s) // hold the typed value, so edits stay
	return s
}
