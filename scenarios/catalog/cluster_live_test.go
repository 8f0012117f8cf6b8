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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/netfilter"
)

// clusterRunTimeout bounds one cluster run (boot of three nodes, workload,
// cut, heal, probes); a run that needs longer fails the test.
const clusterRunTimeout = 8 * time.Minute

// clusterParallel is how many cluster runs TestClusterScenariosLive runs at
// once unless TFLAB_CLUSTER_PARALLEL says otherwise.
const clusterParallel = 2

// TestClusterScenariosLive runs every cluster scenario (*.yaml.cluster) and
// its negative control as `tflab run FILE` and `tflab run FILE --control`,
// TFLAB_CLUSTER_PARALLEL runs at a time (default clusterParallel), scenarios
// before controls, beside TestTicketsaleCatalogLive: each run is a tflab
// process of its own that boots a private three-node cluster (node names
// and nftables table after its pid, node addresses in a subnet it claims;
// see internal/rabbitnode) and cuts it with nftables rules, so it needs
// root. Exit code 0 is the verdict the file expects (PASS, or the
// control's named violation). The run directories are kept with go test
// -artifacts. TFLAB_CLUSTER_SCENARIOS=a,b picks scenarios by name ("all" or
// unset: every one; "none" skips them).
func TestClusterScenariosLive(t *testing.T) {
	t.Parallel()
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
	par := clusterParallel
	if v := os.Getenv("TFLAB_CLUSTER_PARALLEL"); v != "" {
		if par, err = strconv.Atoi(v); err != nil || par < 1 {
			t.Fatalf("TFLAB_CLUSTER_PARALLEL=%s: want a count of 1 or more", v)
		}
	}
	bin := filepath.Join(t.TempDir(), "tflab")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/tflab").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := t.ArtifactDir()
	// Runs take their turn in this order (every scenario, then every
	// control), par at a time.
	type job struct {
		file    string
		control bool
	}
	var jobs []job
	for _, control := range []bool{false, true} {
		for _, f := range files {
			jobs = append(jobs, job{f, control})
		}
	}
	turn := make(chan job, len(jobs))
	for _, j := range jobs {
		turn <- j
	}
	close(turn)
	// par workers take the runs in turn; each run is a subtest of its own
	// (t.Run from several goroutines at once), not a t.Parallel one, so
	// go test's -parallel (GOMAXPROCS) does not cap par.
	start := time.Now()
	var wg sync.WaitGroup
	for range min(par, len(jobs)) {
		wg.Go(func() {
			for j := range turn {
				label := strings.TrimSuffix(j.file, ".yaml.cluster")
				if j.control {
					label += "/control"
				}
				t.Run(label, func(t *testing.T) {
					runCluster(t, bin, j.file, out, j.control)
				})
			}
		})
	}
	wg.Wait()
	t.Logf("cluster scenarios: %d runs, %d at a time, in %s", len(jobs), par, time.Since(start).Round(time.Second))
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
