//go:build scenario

package main

// Live scenario runs: `go test -tags scenario -run Scenario ./cmd/tflab`.
// Each run starts a fresh lab (private RabbitMQ node, Toxiproxy, the six
// Ticketflow services) and takes 25 to 45 seconds. TFLAB_SCENARIOS picks the
// catalog scenarios of TestScenarioCatalogLive (comma-separated, "all" for
// every one); the default is the quickstart only.

import (
	"bytes"
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

// runScenarioAndControl runs a catalog scenario and its negative control and
// requires both to pass: the scenario with every invariant held and its
// evidence, the control with its expected violation.
func runScenarioAndControl(t *testing.T, name string) {
	out := t.TempDir()
	c, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	text, code, dir := tflabRun(t, "run", name, "--out", out, "--progress=false")
	if code != 0 {
		t.Errorf("%s: exit %d\n%s", name, code, text)
	}
	if dir != "" {
		// The saved run re-judges offline to the same verdict.
		vtext, vcode, _ := tflabRun(t, "verify", dir)
		if vcode != code {
			t.Errorf("%s: verify exits %d, the run exited %d\n%s", name, vcode, code, vtext)
		}
	}
	text, code, dir = tflabRun(t, "run", name, "--control", "--out", out, "--progress=false")
	if code != 0 {
		t.Errorf("%s control: exit %d\n%s", name, code, text)
		return
	}
	j := journal(t, dir)
	for _, want := range s.Control.Expect.Violated {
		found := false
		for _, v := range j.Verdicts {
			found = found || ((v.Invariant == want || v.Name == want) && v.Result == "VIOLATED" && len(v.Violations) > 0)
		}
		if !found {
			b, _ := json.MarshalIndent(j.Verdicts, "", "  ")
			t.Errorf("%s control: %s not violated\n%s", name, want, b)
		}
	}
}

func TestScenarioQuickstart(t *testing.T) {
	runScenarioAndControl(t, "quickstart")
}

func TestScenarioCatalogLive(t *testing.T) {
	c, err := catalog.Load()
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Split(os.Getenv("TFLAB_SCENARIOS"), ",")
	switch {
	case os.Getenv("TFLAB_SCENARIOS") == "":
		t.Skip("set TFLAB_SCENARIOS=name,name or all")
	case names[0] == "all":
		names = c.Names()
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) { runScenarioAndControl(t, strings.TrimSpace(n)) })
	}
}
