//go:build integration && scenario

package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ticketsaleSuiteTimeout bounds the whole ticketsale suite (ten scenarios
// and their controls, two at a time on one shared node).
const ticketsaleSuiteTimeout = 20 * time.Minute

// TestTicketsaleCatalogLive runs ticketsale's catalog scenarios and their
// negative controls as `tflab suite --system ticketsale --with-controls
// --parallel 2`: one private RabbitMQ node, a vhost per run. It runs
// beside cmd/tflab's tour (Ticketflow's catalog) under `go test ./...`.
// It fails naming every run that did not exit 0 (a scenario PASS, a
// control breaking the invariant it names) and every scenario or control
// that did not run. TFLAB_TICKETSALE_SCENARIOS=a,b narrows it ("all" or
// unset: every one; "none" skips). The run directories are kept with go
// test -artifacts.
func TestTicketsaleCatalogLive(t *testing.T) {
	t.Parallel()
	c, err := Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range c.Names() {
		if s, _ := c.Get(n); s.System == "ticketsale" {
			want = append(want, n)
		}
	}
	var names []string
	if pick := os.Getenv("TFLAB_TICKETSALE_SCENARIOS"); pick == "none" {
		t.Skip("TFLAB_TICKETSALE_SCENARIOS=none")
	} else if pick != "" && pick != "all" {
		names = strings.Split(pick, ",")
		want = slices.DeleteFunc(want, func(n string) bool { return !slices.Contains(names, n) })
		if len(want) != len(names) {
			t.Fatalf("TFLAB_TICKETSALE_SCENARIOS=%s: ticketsale's scenarios among them: %v", pick, want)
		}
	}
	bin := filepath.Join(t.TempDir(), "tflab")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/tflab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := t.ArtifactDir()
	ctx, cancel := context.WithTimeout(t.Context(), ticketsaleSuiteTimeout)
	defer cancel()
	args := append([]string{"--log-level=warn", "suite", "--system", "ticketsale", "--with-controls", "--parallel", "2",
		"--json", "--out", out, "--progress=false"}, names...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = out
	// Ctrl-C, not SIGKILL, on timeout: tflab then stops its labs and the
	// shared node before it exits.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 2 * time.Minute
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err = cmd.Run()
	took := time.Since(began).Round(time.Second)
	if ctx.Err() != nil {
		t.Errorf("the suite did not end within %s", ticketsaleSuiteTimeout)
	}
	if exit, ok := errors.AsType[*exec.ExitError](err); err != nil && !ok {
		t.Fatalf("tflab %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 60))
	} else if ok {
		t.Logf("tflab suite: exit %d", exit.ExitCode())
	}
	var runs []struct {
		Scenario string `json:"scenario"`
		Control  bool   `json:"control"`
		System   string `json:"system"`
		Broker   string `json:"broker"`
		Dir      string `json:"dir"`
		Verdict  string `json:"verdict"`
		Exit     int    `json:"exit"`
		Took     string `json:"took"`
		Reason   string `json:"reason"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &runs); err != nil {
		t.Fatalf("tflab suite --json: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), tail(stderr.String(), 60))
	}
	// The runs that did not pass come first: a CI log cut short still
	// names them.
	var failed []string
	seen := map[string]bool{}
	for _, r := range runs {
		name := r.Scenario
		if r.Control {
			name += "/control"
		}
		seen[name] = true
		if r.Exit != 0 || r.System != "ticketsale" {
			failed = append(failed, fmt.Sprintf("%s: %s (exit %d, system %s) in %s: %s; run directory %s",
				name, r.Verdict, r.Exit, r.System, r.Took, r.Reason, r.Dir))
		}
	}
	for _, n := range want {
		for _, name := range []string{n, n + "/control"} {
			if !seen[name] {
				failed = append(failed, name+": did not run")
			}
		}
	}
	if len(runs) != 2*len(want) {
		failed = append(failed, fmt.Sprintf("%d runs, want %d (every scenario and its control)", len(runs), 2*len(want)))
	}
	if len(failed) > 0 {
		t.Errorf("ticketsale catalog: %d of %d runs not as expected:\n%s", len(failed), 2*len(want), strings.Join(failed, "\n"))
		t.Logf("stderr:\n%s", tail(stderr.String(), 80))
	}
	for _, r := range runs {
		t.Logf("%s control=%v: %s in %s on %s: %s", r.Scenario, r.Control, r.Verdict, r.Took, r.Broker, r.Reason)
	}
	t.Logf("ticketsale catalog: %d runs in %s", len(runs), took)
}
