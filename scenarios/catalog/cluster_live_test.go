//go:build integration && scenario

package catalog

import (
	"bytes"
	"context"
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

	"github.com/ticketflow-lab/tflab/internal/netfilter"
)

// clusterRunTimeout bounds one cluster run (boot of three nodes, workload,
// cut, heal, probes); a run that needs longer fails the test.
const clusterRunTimeout = 8 * time.Minute

// TestClusterScenariosLive runs every cluster scenario (*.yaml.cluster) and
// its negative control as `tflab run FILE` and `tflab run FILE --control`,
// one run at a time: each boots a private three-node cluster and cuts it
// with nftables rules, so it needs root. Exit code 0 is the verdict the
// file expects (PASS, or the control's named violation). The run
// directories are kept with go test -artifacts. TFLAB_CLUSTER_SCENARIOS=a,b
// picks scenarios by name ("all" or unset: every one; "none" skips them).
func TestClusterScenariosLive(t *testing.T) {
	if err := netfilter.Available(); err != nil {
		t.Skipf("cluster scenarios need nftables (root): %v", err)
	}
	files, err := filepath.Glob("*.yaml.cluster")
	if err != nil {
		t.Fatal(err)
	}
	if pick := os.Getenv("TFLAB_CLUSTER_SCENARIOS"); pick != "" && pick != "all" {
		names := strings.Split(pick, ",")
		files = slices.DeleteFunc(files, func(f string) bool {
			return !slices.Contains(names, strings.TrimSuffix(f, ".yaml.cluster"))
		})
		if len(files) == 0 {
			t.Skipf("TFLAB_CLUSTER_SCENARIOS=%s picks no cluster scenario", pick)
		}
	}
	bin := filepath.Join(t.TempDir(), "tflab")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/tflab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := t.ArtifactDir()
	start := time.Now()
	for _, f := range files {
		name := strings.TrimSuffix(f, ".yaml.cluster")
		for _, control := range []bool{false, true} {
			label := name
			if control {
				label += "/control"
			}
			t.Run(label, func(t *testing.T) {
				runCluster(t, bin, f, out, control)
			})
		}
	}
	t.Logf("cluster scenarios: %d runs in %s", 2*len(files), time.Since(start).Round(time.Second))
}

// runCluster runs one cluster scenario file (or its control) and fails
// unless tflab exits 0, logging the verdict table and the time taken.
func runCluster(t *testing.T, bin, file, out string, control bool) {
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), clusterRunTimeout)
	defer cancel()
	args := []string{"--log-level=warn", "run", abs, "--out", out, "--progress=false"}
	if control {
		args = append(args, "--control")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = out
	// Ctrl-C, not SIGKILL, on timeout: tflab then heals its cuts, stops
	// its nodes and removes its nftables table before it exits.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 2 * time.Minute
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	began := time.Now()
	err = cmd.Run()
	took := time.Since(began).Round(time.Second)
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Logf("%s in %s:\n%s", strings.Join(args[2:], " "), took, tail(buf.String(), 25))
	case errors.As(err, &exit):
		t.Errorf("tflab %s: exit %d after %s (0 = the verdict the file expects)\n%s", strings.Join(args[1:], " "), exit.ExitCode(), took, tail(buf.String(), 60))
	default:
		t.Errorf("tflab %s: %v after %s\n%s", strings.Join(args[1:], " "), err, took, tail(buf.String(), 60))
	}
	if ctx.Err() != nil {
		t.Errorf("the run did not end within %s", clusterRunTimeout)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d lines before", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
