//go:build scenario

package main

// Live scenario runs: `go test -tags scenario -run Scenario ./cmd/tflab`.
// Each run starts a fresh lab (Toxiproxy and the six Ticketflow services) in
// a vhost of the suite's shared RabbitMQ node, or on a node of its own for
// node-wide broker faults.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/report"
)

var (
	scenarioBinOnce sync.Once
	scenarioBin     string
	scenarioBinErr  error
)

func scenarioBinary(t *testing.T) string {
	t.Helper()
	scenarioBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tflab-scenario-bin-")
		if err != nil {
			scenarioBinErr = err
			return
		}
		scenarioBin = filepath.Join(dir, "tflab")
		if out, err := exec.Command("go", "build", "-o", scenarioBin, ".").CombinedOutput(); err != nil {
			scenarioBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if scenarioBinErr != nil {
		t.Fatal(scenarioBinErr)
	}
	return scenarioBin
}

// tflabRun runs the binary and returns its output, exit code and the run
// directory it reported.
func tflabRun(t *testing.T, args ...string) (out string, code int, runDir string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(scenarioBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(line, "run directory: "); ok {
			runDir, _, _ = strings.Cut(rest, " ")
		}
	}
	return stdout.String() + stderr.String(), code, runDir
}

func journal(t *testing.T, runDir string) *report.Journal {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	j, err := report.ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// suiteResult is one entry of `tflab suite --json`.
type suiteResult struct {
	Scenario string `json:"scenario"`
	Control  bool   `json:"control"`
	Broker   string `json:"broker"`
	Dir      string `json:"dir"`
	Verdict  string `json:"verdict"`
	Exit     int    `json:"exit"`
	Took     string `json:"took"`
	Reason   string `json:"reason"`
}

// TestScenarioCatalogLive runs every catalog scenario and its negative
// control live, the way CI should: one `tflab suite --with-controls` on a
// shared broker (a vhost per run, node-wide faults on their own node), a few
// runs at once. Every scenario must pass with its evidence, every control
// must break with the invariant it names, and every saved run must re-judge
// offline to the same verdict.
//
// TFLAB_SCENARIOS=name,name picks scenarios (default: the whole catalog);
// TFLAB_PARALLEL sets how many labs run at once (default 3).
func TestScenarioCatalogLive(t *testing.T) {
	c, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if env := os.Getenv("TFLAB_SCENARIOS"); env != "" && env != "all" {
		for n := range strings.SplitSeq(env, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	parallel := cmp.Or(os.Getenv("TFLAB_PARALLEL"), "3")
	out := t.TempDir()
	args := append([]string{"suite", "--with-controls", "--parallel", parallel, "--json", "--out", out}, names...)
	cmd := exec.Command(scenarioBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var results []suiteResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("suite output is not its JSON summary (%v; run error %v)\nstdout:\n%s\nstderr:\n%s", err, runErr, stdout.String(), stderr.String())
	}
	want := names
	if len(want) == 0 {
		want = c.Names()
	}
	if len(results) != 2*len(want) {
		t.Errorf("suite reported %d runs, want a scenario and a control for each of %d scenarios\nstderr:\n%s", len(results), len(want), stderr.String())
	}
	for _, r := range results {
		name := r.Scenario
		if r.Control {
			name += "/control"
		}
		t.Run(name, func(t *testing.T) {
			t.Logf("%s in %s on %s: %s", r.Verdict, r.Took, r.Broker, r.Reason)
			if r.Exit != 0 {
				t.Fatalf("exit %d (%s): %s; run directory %s", r.Exit, r.Verdict, r.Reason, r.Dir)
			}
			if r.Control {
				s, err := c.Lookup(r.Scenario)
				if err != nil {
					t.Fatal(err)
				}
				requireViolated(t, journal(t, r.Dir), s.Control.Expect.Violated)
			}
			// The saved run re-judges offline to the same verdict.
			vtext, vcode, _ := tflabRun(t, "verify", r.Dir)
			if vcode != r.Exit {
				t.Errorf("verify exits %d, the run exited %d\n%s", vcode, r.Exit, vtext)
			}
		})
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("suite failed although every run passed: %v\nstderr:\n%s", runErr, stderr.String())
	}
}

// requireViolated fails unless each wanted invariant is VIOLATED in the
// journal with at least one named violation.
func requireViolated(t *testing.T, j *report.Journal, want []string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, v := range j.Verdicts {
			found = found || ((v.Invariant == w || v.Name == w) && v.Result == "VIOLATED" && len(v.Violations) > 0)
		}
		if !found {
			b, _ := json.MarshalIndent(j.Verdicts, "", "  ")
			t.Errorf("%s not violated\n%s", w, b)
		}
	}
}
