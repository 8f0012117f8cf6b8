//go:build integration && scenario

package main

// The plug-in contract, like watermill's pub/sub test suite: one test run
// for every registered system. It brings the system up and checks every
// service healthy and its end-to-end probe through; then it runs a
// fault-free scenario (the system's workload with its required keys at
// their minimum, one harmless 1 ms latency, evidence that it was applied),
// which must pass every invariant; the run's saved snapshot must decode
// into the system's snapshot type and encode back to the same JSON; and
// `verify` must give the same verdict offline.
//
//	go test -tags integration,scenario -run TestPluginContract ./cmd/tflab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

func TestPluginContract(t *testing.T) {
	for _, sys := range systems.All() {
		t.Run(sys.Name, func(t *testing.T) { contract(t, sys) })
	}
}

func contract(t *testing.T, sys sut.System) {
	work := t.TempDir()
	link := upHealthyAndProbe(t, work, sys)

	file := filepath.Join(work, "contract.yaml")
	if err := os.WriteFile(file, []byte(contractScenario(t, sys, link)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "out")
	stdout, stderr, code := runTflab(t, work, nil, "run", file, "--out", out, "--progress=false")
	dirs, _ := filepath.Glob(filepath.Join(out, "*-contract-"+sys.Name))
	if len(dirs) != 1 {
		t.Fatalf("run exit %d, run dirs %v\nstdout:\n%s\nstderr:\n%s", code, dirs, stdout, stderr)
	}
	runDir := dirs[0]
	if code != int(ExitPass) {
		t.Fatalf("a fault-free run of %s: exit %d, want a pass\nstdout:\n%s\nstderr:\n%s", sys.Name, code, stdout, stderr)
	}
	sameVerdictOffline(t, runDir, code)
	snapshotRoundTrip(t, sys, runDir)
}

// upHealthyAndProbe runs `tflab up` for the system, checks status --json
// shows every service healthy, runs the system's probe against it, and
// returns a service with a broker link for the scenario's fault.
func upHealthyAndProbe(t *testing.T, work string, sys sut.System) string {
	t.Helper()
	u := startUp(t, work, "contract-"+sys.Name, "--system", sys.Name)
	u.waitReady(t)
	defer func() {
		_ = u.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-u.done:
		case <-time.After(90 * time.Second):
			t.Errorf("tflab up did not stop within 90s")
		}
	}()
	doc, code := statusJSON(t, work, "--run-dir", u.runDir)
	if code != 0 {
		t.Fatalf("status exit %d", code)
	}
	checkContract(t, doc, sys.ServiceNames()...)
	in, err := lab.ReadInfo(u.runDir)
	if err != nil {
		t.Fatal(err)
	}
	var links []string
	for _, id := range in.IDs() {
		if s := in.Services[id]; s.AMQPProxy != "" && !slices.Contains(links, s.Service) {
			links = append(links, s.Service)
		}
	}
	if len(links) == 0 {
		t.Fatalf("no service of %s has a broker link", sys.Name)
	}
	if sys.Probe == nil {
		t.Logf("%s has no end-to-end probe", sys.Name)
		return links[0]
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	env := sut.LoadEnv{Endpoints: labEndpoints(in), Rand: rand.New(rand.NewPCG(1, 2)), Log: labtest.Logger(t)}
	recs, err := sys.Probe(ctx, env, 2*time.Minute)
	if err != nil {
		t.Fatalf("end-to-end probe on a healthy %s: %v", sys.Name, err)
	}
	if !slices.ContainsFunc(recs, func(r history.Record) bool { return r.Accepted }) {
		t.Errorf("the probe recorded no accepted request: %+v", recs)
	}
	return links[0]
}

// contractScenario is a fault-free scenario of the system: its workload
// block holds only the required keys (an integer at its minimum, at least
// 5), and the one fault is a 1 ms latency on link.
func contractScenario(t *testing.T, sys sut.System, link string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: contract-%s\nsystem: %s\nseed: 7\n", sys.Name, sys.Name)
	b.WriteString("description: fault-free contract run, a harmless latency only\n")
	b.WriteString("workload:\n  settle: 20s\n")
	if wt := sys.Vocabulary.Workload; wt != nil {
		for _, key := range wt.Required {
			p, _ := wt.Properties[key].(map[string]any)
			if p["type"] != "integer" {
				t.Fatalf("system %s: required workload key %s is not an integer; give the contract a value for it", sys.Name, key)
			}
			n := 5
			if m, ok := p["minimum"].(int); ok && m > n {
				n = m
			}
			fmt.Fprintf(&b, "  %s: %d\n", key, n)
		}
	}
	b.WriteString("steadyState:\n  before:\n    - probe: services-healthy\n    - probe: broker-healthy\n")
	b.WriteString("  after:\n    - probe: queues-empty\n      timeout: 60s\n")
	if sys.Probe != nil {
		b.WriteString("    - probe: end-to-end\n      timeout: 60s\n")
	}
	fmt.Fprintf(&b, "method:\n  - {name: harmless, at: 0s, duration: 1s, type: network, toxic: latency, link: %s, direction: downstream, attributes: {latency: 1}}\n", link)
	b.WriteString("evidence: [faults.applied > 0]\nexpect: pass\n")
	return b.String()
}

// sameVerdictOffline judges the saved run again, in this process and with
// `tflab verify`, and compares with the journal the run wrote.
func sameVerdictOffline(t *testing.T, runDir string, runCode int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(runDir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved report.Journal
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	v, err := run.Verify(runDir, run.VerifyOptions{Systems: systems})
	if err != nil {
		t.Fatal(err)
	}
	again := report.NewJournal(v.History, v.Verdict)
	if again.Verdict != saved.Verdict {
		t.Errorf("verdict offline %+v, live %+v", again.Verdict, saved.Verdict)
	}
	rows := func(j *report.Journal) string {
		var out []string
		for _, r := range j.Verdicts {
			out = append(out, fmt.Sprintf("%s %s %s %s %s %d", r.Kind, r.Invariant, r.Phase, r.Probe, r.Result, r.Checked))
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	if a, b := rows(again), rows(&saved); a != b {
		t.Errorf("invariant rows offline:\n%s\nlive:\n%s", a, b)
	}
	if len(saved.Verdicts) == 0 {
		t.Error("the journal judged nothing")
	}
	stdout, stderr, code := runTflab(t, filepath.Dir(runDir), nil, "verify", runDir)
	if code != runCode {
		t.Errorf("tflab verify exit %d, the run's %d\nstdout:\n%s\nstderr:\n%s", code, runCode, stdout, stderr)
	}
}

// snapshotRoundTrip reads the run's stores with the system's snapshotter,
// decodes the snapshot the run saved into that type and checks it encodes
// back to the same JSON.
func snapshotRoundTrip(t *testing.T, sys sut.System, runDir string) {
	t.Helper()
	h, err := history.LoadHeader(runDir)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, r := range h.Records {
		if r.Accepted {
			accepted++
		}
	}
	if sys.Workload != nil && accepted == 0 {
		t.Errorf("the fault-free workload of %s recorded no accepted request (%d records)", sys.Name, len(h.Records))
	}
	t.Logf("%s: %d records, %d accepted", sys.Name, len(h.Records), accepted)
	if sys.Snapshot == nil {
		if !h.Snapshot.System.IsZero() {
			t.Errorf("%s has no snapshotter but the run saved a snapshot", sys.Name)
		}
		return
	}
	if h.Snapshot.System.IsZero() {
		t.Fatalf("the run saved no snapshot of %s", sys.Name)
	}
	saved, err := json.Marshal(h.Snapshot.System)
	if err != nil {
		t.Fatal(err)
	}
	in, err := lab.ReadInfo(runDir)
	if err != nil {
		t.Fatal(err)
	}
	var dbs []sut.DB
	seen := map[string]bool{}
	for _, id := range in.IDs() {
		if s := in.Services[id]; s.DB != "" && !seen[s.DB] {
			seen[s.DB] = true
			dbs = append(dbs, sut.DB{Service: s.Service, Instance: id, Path: s.DB})
		}
	}
	fresh, err := sys.Snapshot(t.Context(), dbs)
	if err != nil {
		t.Fatalf("read the run's stores: %v", err)
	}
	typ := reflect.TypeOf(fresh)
	decoded := reflect.New(typ)
	if err := json.Unmarshal(saved, decoded.Interface()); err != nil {
		t.Fatalf("the saved snapshot does not decode into %s: %v", typ, err)
	}
	again, err := json.Marshal(decoded.Elem().Interface())
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, saved); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, want.Bytes()) {
		t.Errorf("snapshot round trip through %s differs:\n got %.2000s\nwant %.2000s", typ, again, want.Bytes())
	}
	now, _ := json.Marshal(fresh)
	if len(now) < 8 {
		t.Errorf("the stores read back to an empty snapshot: %s", now)
	}
}
