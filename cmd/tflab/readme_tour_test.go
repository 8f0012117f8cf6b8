//go:build scenario

package main

// The README runs as written: `go test -tags scenario -run ReadmeTour ./cmd/tflab`.
//
// TestReadmeTour reads README.md's "Two commands" and "A short tour" code
// blocks and types every command the way a newcomer would: in a fresh copy
// of the repository (every tracked and untracked, not ignored file), with
// relative paths, bin/tflab built there by `make build`, run directories in
// the copy's runs/. The suite line is the test's one live run of the
// default system's (Ticketflow's) catalog: every scenario must pass, every control must break with the
// invariant it names, and every saved run must re-judge offline to the same
// verdict.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// readmeLine is one command of a README code block.
type readmeLine struct {
	text    string   // the command as written, comment dropped
	args    []string // text split on spaces (the README uses no quoting)
	comment string   // the trailing comment and its continuation lines
}

// readmeBlock returns the commands of the first ```sh block under the
// "## heading" section of readme.
func readmeBlock(readme, heading string) ([]readmeLine, error) {
	_, section, ok := strings.Cut(readme, "\n## "+heading+"\n")
	if !ok {
		return nil, fmt.Errorf("README has no section %q", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		return nil, fmt.Errorf("section %q has no ```sh block", heading)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		return nil, fmt.Errorf("section %q: unterminated code block", heading)
	}
	var lines []readmeLine
	for raw := range strings.Lines(block) {
		raw = strings.TrimRight(raw, "\n")
		if strings.TrimSpace(raw) == "" {
			continue
		}
		if c, ok := strings.CutPrefix(strings.TrimSpace(raw), "#"); ok {
			if len(lines) == 0 {
				continue
			}
			lines[len(lines)-1].comment += " " + strings.TrimSpace(c)
			continue
		}
		text, comment, _ := strings.Cut(raw, " #")
		text = strings.TrimSpace(text)
		if strings.ContainsAny(text, `"'\$|;&<>`+"`") && !strings.Contains(text, "<time>-<name>") {
			return nil, fmt.Errorf("README command %q uses shell syntax the tour test does not run", text)
		}
		lines = append(lines, readmeLine{text: text, args: strings.Fields(text), comment: strings.TrimSpace(comment)})
	}
	return lines, nil
}

// tour is the newcomer's terminal: the copied repository and what earlier
// commands left behind.
type tour struct {
	t       *testing.T
	dir     string // the repository copy; every command runs here
	catalog *catalog.Catalog
	// lastRun is the run directory and exit code of the newest `tflab run`.
	lastRun     string
	lastRunExit int
	// up is the lab `tflab up` keeps running in the background.
	up *bgProc
}

// result is one finished command.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// newcomerEnv is the newcomer's environment: the test's, without the make
// variables of the `make test` this runs under.
func newcomerEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, p := range []string{"MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "MAKE_TERMOUT=", "MAKE_TERMERR="} {
			if strings.HasPrefix(kv, p) {
				return true
			}
		}
		return false
	})
}

// command builds args[0] args[1:]… in the copy; a relative program
// (bin/tflab) is resolved there, as a shell would.
func (tr *tour) command(ctx context.Context, args ...string) *exec.Cmd {
	prog := args[0]
	if strings.Contains(prog, "/") {
		prog = filepath.Join(tr.dir, prog)
	}
	cmd := exec.CommandContext(ctx, prog, args[1:]...)
	cmd.Dir, cmd.Env = tr.dir, newcomerEnv()
	cmd.WaitDelay = 10 * time.Second
	labtest.DieWithTest(cmd)
	return cmd
}

// run runs args to completion within timeout.
func (tr *tour) run(timeout time.Duration, args ...string) result {
	tr.t.Helper()
	ctx, cancel := context.WithTimeout(tr.t.Context(), timeout)
	defer cancel()
	cmd := tr.command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		tr.t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		tr.t.Fatalf("%s: not done within %s\n%s", strings.Join(args, " "), timeout, r)
	}
	tr.t.Logf("$ %s  → exit %d in %s", strings.Join(args, " "), r.code, time.Since(start).Round(100*time.Millisecond))
	return r
}

// bgProc is a command left running, like `tflab up` in a second terminal.
type bgProc struct {
	cmd            *exec.Cmd
	stdout, stderr *labtest.SyncBuffer
	done           chan struct{}
	err            error
}

// start runs args in the background in a process group of its own, as a
// shell runs a job, so that Ctrl-C can reach the whole group.
func (tr *tour) start(args ...string) *bgProc {
	tr.t.Helper()
	p := &bgProc{stdout: &labtest.SyncBuffer{}, stderr: &labtest.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = tr.command(context.WithoutCancel(tr.t.Context()), args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr.Setpgid = true
	if err := p.cmd.Start(); err != nil {
		tr.t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	tr.t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(90 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		tr.t.Logf("%s (stopped by cleanup)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout, p.stderr)
	})
	return p
}

// waitExit waits for p to exit and returns its exit code.
func (p *bgProc) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("still running %s after it was told to stop\nstdout:\n%s\nstderr:\n%s", within, p.stdout, p.stderr)
	}
	if ee, ok := errors.AsType[*exec.ExitError](p.err); ok {
		return ee.ExitCode()
	} else if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// expectation checks one README command; match is the command's leading
// words.
type expectation struct {
	match string
	check func(tr *tour, l readmeLine)
}

// expectations know every README command. A README command none of them
// matches fails the test: a new tour line needs its check here.
var expectations = []expectation{
	{"make test", func(tr *tour, l readmeLine) {
		tr.t.Logf("$ %s  → not run: make test is what runs this test, it cannot run inside itself", l.text)
	}},
	{"make build", func(tr *tour, l readmeLine) {
		r := tr.run(10*time.Minute, l.args...)
		if r.code != 0 {
			tr.t.Fatalf("%s: %s", l.text, r)
		}
		if fi, err := os.Stat(filepath.Join(tr.dir, "bin", "tflab")); err != nil || fi.Mode()&0o111 == 0 {
			tr.t.Fatalf("%s left no executable bin/tflab: %v", l.text, err)
		}
	}},
	{"make run", func(tr *tour, l readmeLine) {
		r := tr.run(10*time.Minute, l.args...)
		if r.code != 0 || !strings.Contains(r.stdout, "run directory: runs/") {
			tr.t.Errorf("%s: want exit 0 and the run directory under runs/: %s", l.text, r)
		}
	}},
	{"bin/tflab scenarios list", func(tr *tour, l readmeLine) {
		r := tr.run(time.Minute, l.args...)
		if r.code != 0 {
			tr.t.Fatalf("%s: %s", l.text, r)
		}
		names := tr.catalog.Names()
		for _, n := range names {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n) + `\s`).MatchString(r.stdout) {
				tr.t.Errorf("%s does not list %s:\n%s", l.text, n, r.stdout)
			}
		}
		// The comment's claims hold.
		if m := regexp.MustCompile(`(\d+) named scenarios`).FindStringSubmatch(l.comment); m != nil && m[1] != strconv.Itoa(len(names)) {
			tr.t.Errorf("README says %s named scenarios, the catalog has %d", m[1], len(names))
		}
		if strings.Contains(l.comment, "each with a negative control") {
			for _, n := range names {
				if s, err := tr.catalog.Lookup(n); err != nil || s.Control == nil {
					tr.t.Errorf("README says each scenario has a negative control; %s has none (%v)", n, err)
				}
			}
		}
	}},
	{"bin/tflab run", func(tr *tour, l readmeLine) {
		r := tr.run(10*time.Minute, l.args...)
		dir := runDirOf(r.stdout)
		if dir == "" || filepath.IsAbs(dir) {
			tr.t.Fatalf("%s: no relative run directory printed: %s", l.text, r)
		}
		j := journal(tr.t, filepath.Join(tr.dir, dir))
		want := 0
		switch {
		case slices.Contains(l.args, "--control"):
			// A control passes when the invariant it names breaks.
			s, err := tr.catalog.Lookup(l.args[2])
			if err != nil {
				tr.t.Fatal(err)
			}
			requireViolated(tr.t, j, s.Control.Expect.Violated)
		case slices.Contains(l.args, "--unprotect"):
			// Without its protections the scenario must show what breaks.
			want = int(ExitViolated)
			if !slices.ContainsFunc(j.Verdicts, func(v report.InvariantVerdict) bool { return v.Result == "VIOLATED" && len(v.Violations) > 0 }) {
				tr.t.Errorf("%s: no invariant violated with protections off", l.text)
			}
		}
		if r.code != want || j.Verdict.ExitCode != r.code {
			tr.t.Errorf("%s: exit %d, journal exit %d, want %d: %s", l.text, r.code, j.Verdict.ExitCode, want, r)
		}
		tr.lastRun, tr.lastRunExit = dir, r.code
	}},
	{"bin/tflab verify", func(tr *tour, l readmeLine) {
		if tr.lastRun == "" {
			tr.t.Fatalf("%s: no earlier `tflab run` in the tour left a run directory", l.text)
		}
		args := slices.Clone(l.args)
		for i, a := range args {
			if strings.Contains(a, "<") {
				args[i] = tr.lastRun
			}
		}
		r := tr.run(2*time.Minute, args...)
		if r.code != tr.lastRunExit || !strings.Contains(r.stdout, "verified ") {
			tr.t.Errorf("%s: exit %d, the run exited %d: %s", strings.Join(args, " "), r.code, tr.lastRunExit, r)
		}
	}},
	{"bin/tflab suite", checkSuite},
	{"bin/tflab up", func(tr *tour, l readmeLine) {
		if tr.up != nil {
			tr.t.Fatalf("%s: a lab is already up", l.text)
		}
		tr.up = tr.start(l.args...)
		waitUp(tr.t, tr.up)
	}},
	{"bin/tflab load", func(tr *tour, l readmeLine) {
		tr.needLab(l)
		r := tr.run(5*time.Minute, l.args...)
		if r.code != 0 || !strings.Contains(r.stdout, "record: runs/") {
			tr.t.Errorf("%s: want exit 0 and the load record under runs/: %s", l.text, r)
		}
	}},
	{"bin/tflab status", func(tr *tour, l readmeLine) {
		tr.needLab(l)
		r := tr.run(time.Minute, l.args...)
		var in lab.Info
		if err := json.Unmarshal([]byte(r.stdout), &in); err != nil || r.code != 0 {
			tr.t.Fatalf("%s: want exit 0 and JSON (%v): %s", l.text, err, r)
		}
		if !in.Running || !in.Broker.Healthy || len(in.Services) != 6 {
			tr.t.Errorf("%s: want a running lab, a healthy broker and six services: %s", l.text, r.stdout)
		}
		for id, s := range in.Services {
			if !s.Healthy || s.PID == 0 || !filepath.IsAbs(s.DB) || !filepath.IsAbs(s.Spans) || !filepath.IsAbs(s.Log) {
				tr.t.Errorf("%s: service %s: want healthy with a pid and absolute paths: %+v", l.text, id, s)
			}
		}
	}},
	{"bin/tflab down", func(tr *tour, l readmeLine) {
		up := tr.needLab(l)
		pids := labPIDs(tr.t, tr.dir)
		r := tr.run(2*time.Minute, l.args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Stopped the lab in runs/") {
			tr.t.Errorf("%s: %s", l.text, r)
		}
		if code := up.waitExit(tr.t, time.Minute); code != 0 {
			tr.t.Errorf("tflab up exited %d after %s:\n%s", code, l.text, up.stderr)
		}
		requireGone(tr.t, pids)
		tr.up = nil

		// Ctrl-C in the terminal that runs `tflab up` stops everything too.
		again := tr.start(upArgs(tr.t)...)
		waitUp(tr.t, again)
		pids = labPIDs(tr.t, tr.dir)
		sent := time.Now()
		if err := syscall.Kill(-again.cmd.Process.Pid, syscall.SIGINT); err != nil {
			tr.t.Fatal(err)
		}
		if code := again.waitExit(tr.t, 2*time.Minute); code != 0 || !strings.Contains(again.stdout.String(), "Lab stopped") {
			tr.t.Errorf("tflab up after Ctrl-C: exit %d\nstdout:\n%s\nstderr:\n%s", code, again.stdout, again.stderr)
		}
		requireGone(tr.t, pids)
		tr.t.Logf("Ctrl-C → tflab up and its %d processes gone in %s", len(pids), time.Since(sent).Round(100*time.Millisecond))
	}},
	{"bin/tflab bench proxy", func(tr *tour, l readmeLine) {
		r := tr.run(5*time.Minute, l.args...)
		if r.code != 0 || !regexp.MustCompile(`(?m)^ratio\s+[0-9.]+`).MatchString(r.stdout) {
			tr.t.Errorf("%s: want exit 0 and a ratio: %s", l.text, r)
		}
	}},
}

// tourUpArgs is the README's `tflab up` line, kept for the Ctrl-C check.
var tourUpArgs []string

func upArgs(t *testing.T) []string {
	t.Helper()
	if tourUpArgs == nil {
		t.Fatal("the README's tour has no `bin/tflab up` line")
	}
	return tourUpArgs
}

func (tr *tour) needLab(l readmeLine) *bgProc {
	tr.t.Helper()
	if tr.up == nil {
		tr.t.Fatalf("%s needs a running lab: no `tflab up` before it in the tour", l.text)
	}
	select {
	case <-tr.up.done:
		tr.t.Fatalf("%s needs a running lab, but tflab up exited: %v\n%s", l.text, tr.up.err, tr.up.stderr)
	default:
	}
	return tr.up
}

// waitUp waits until `tflab up` says the lab is ready.
func waitUp(t *testing.T, p *bgProc) {
	t.Helper()
	start := time.Now()
	defer func() {
		t.Logf("$ %s  → ready in %s", strings.Join(p.cmd.Args, " "), time.Since(start).Round(100*time.Millisecond))
	}()
	labtest.Eventually(t, 3*time.Minute, func() error {
		select {
		case <-p.done:
			t.Fatalf("tflab up exited early: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		default:
		}
		if !strings.Contains(p.stdout.String(), "Stop with Ctrl-C") {
			return errors.New("not ready yet")
		}
		return nil
	})
}

// labPIDs lists every process of the running lab in dir/runs: control,
// broker nodes and services.
func labPIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	runDir, in, err := lab.FindLive(filepath.Join(dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{"control": in.ControlPID}
	for _, n := range in.Broker.Nodes {
		pids["broker "+n.Name] = n.PID
	}
	for id, s := range in.Services {
		pids["service "+id] = s.PID
	}
	for what, pid := range pids {
		if pid <= 0 {
			t.Fatalf("lab.json in %s has no pid for %s", runDir, what)
		}
	}
	return pids
}

// requireGone fails unless every pid has exited (within a short deadline:
// the last ones are being reaped).
func requireGone(t *testing.T, pids map[string]int) {
	t.Helper()
	err := labtest.Poll(15*time.Second, func() error {
		var left []string
		for what, pid := range pids {
			if lab.ProcessState(pid) != "exited" {
				left = append(left, fmt.Sprintf("%s (pid %d)", what, pid))
			}
		}
		if len(left) > 0 {
			slices.Sort(left)
			return fmt.Errorf("still running: %s", strings.Join(left, ", "))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// notPassed lists the rows of a suite's summary table whose verdict is not
// PASS, each as "RUN: VERDICT REASON".
func notPassed(stdout string) []string {
	var rows []string
	inTable := false
	for line := range strings.Lines(stdout) {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "RUN" && fields[1] == "VERDICT" {
			inTable = true
			continue
		}
		if !inTable || len(fields) < 2 {
			continue
		}
		// A control's run name carries "(control)" as a field of its own.
		i := 1
		if fields[1] == "(control)" {
			i = 2
		}
		if i < len(fields) && fields[i] != "PASS" {
			rows = append(rows, strings.Join(fields, " "))
		}
	}
	if len(rows) == 0 {
		return []string{"none in the summary table"}
	}
	return rows
}

// runDirOf is the run directory a `tflab run` printed.
func runDirOf(stdout string) string {
	for line := range strings.Lines(stdout) {
		if rest, ok := strings.CutPrefix(line, "run directory: "); ok {
			dir, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			return dir
		}
	}
	return ""
}

// checkSuite runs the README's suite line: the one live run of the
// catalog of its --system (default Ticketflow's; TFLAB_SCENARIOS=a,b
// appends names, to try a few). Every
// scenario must pass, every control break with its named invariant, the
// JUnit file hold every run, and every saved run re-judge offline to the
// same verdict. `make suite` must run the same suite.
func checkSuite(tr *tour, l readmeLine) {
	t := tr.t
	args := slices.Clone(l.args)
	// Without --system the suite runs the default system's scenarios
	// (ticketsale's run in scenarios/catalog's TestTicketsaleCatalogLive).
	system := spec.DefaultSystem
	if i := slices.Index(l.args, "--system"); i >= 0 && i+1 < len(l.args) {
		system = l.args[i+1]
	}
	var want []string
	for _, n := range tr.catalog.Names() {
		if s, _ := tr.catalog.Get(n); system == "all" || s.System == system {
			want = append(want, n)
		}
	}
	if env := os.Getenv("TFLAB_SCENARIOS"); env != "" && env != "all" {
		want = nil
		for n := range strings.SplitSeq(env, ",") {
			want = append(want, strings.TrimSpace(n))
		}
		args = append(args, want...)
	}
	checkMakeSuite(t, tr, l)

	runs := filepath.Join(tr.dir, "runs")
	before := map[string]bool{}
	if entries, err := os.ReadDir(runs); err == nil {
		for _, e := range entries {
			before[e.Name()] = true
		}
	}
	r := tr.run(20*time.Minute, args...)
	if r.code != 0 {
		// The runs that did not pass come first: a CI log cut short
		// still names them.
		t.Errorf("%s: exit %d; not passed: %s", l.text, r.code, strings.Join(notPassed(r.stdout), "; "))
		t.Logf("%s: %s", l.text, r)
	}
	if !strings.Contains(r.stdout, "RUN") || !strings.Contains(r.stdout, "VERDICT") {
		t.Errorf("%s printed no summary table:\n%s", l.text, r.stdout)
	}

	// Every scenario and control of the catalog ran and left a run directory.
	type key struct {
		scenario string
		control  bool
	}
	expected := map[key]bool{}
	for _, n := range want {
		s, err := tr.catalog.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		expected[key{n, false}] = true
		if s.Control != nil {
			expected[key{n, true}] = true
		}
	}
	entries, err := os.ReadDir(runs)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[key]string{}
	for _, e := range entries {
		if before[e.Name()] || !e.IsDir() || strings.HasSuffix(e.Name(), "-suite-broker") {
			continue
		}
		dir := filepath.Join("runs", e.Name())
		j := journal(t, filepath.Join(tr.dir, dir))
		k := key{j.Scenario.Name, j.Scenario.Control}
		if other, dup := seen[k]; dup {
			t.Errorf("%v ran twice: %s and %s", k, other, dir)
		}
		seen[k] = dir
		name := k.scenario
		if k.control {
			name += "/control"
		}
		t.Run(name, func(t *testing.T) {
			t.Logf("%s (exit %d): %s", j.Verdict.Outcome, j.Verdict.ExitCode, j.Verdict.Reason)
			if j.Verdict.ExitCode != 0 {
				t.Errorf("exit %d (%s): %s; run directory %s\n%s", j.Verdict.ExitCode, j.Verdict.Outcome, j.Verdict.Reason, dir, unpassedRows(j))
			}
			if k.control {
				s, err := tr.catalog.Lookup(k.scenario)
				if err != nil {
					t.Fatal(err)
				}
				requireViolated(t, j, s.Control.Expect.Violated)
			}
			// The saved run re-judges offline to the same verdict.
			sub := *tr
			sub.t = t
			v := sub.run(2*time.Minute, "bin/tflab", "verify", dir)
			if v.code != j.Verdict.ExitCode {
				t.Errorf("verify exits %d, the run exited %d\n%s", v.code, j.Verdict.ExitCode, v)
			}
		})
	}
	for k := range expected {
		if seen[k] == "" {
			t.Errorf("suite left no run directory for %v", k)
		}
	}
	for k := range seen {
		if !expected[k] {
			t.Errorf("suite ran %v, which it was not asked to", k)
		}
	}

	// The JUnit file holds a test suite per run.
	junit := l.args[slices.Index(l.args, "--junit")+1]
	b, err := os.ReadFile(filepath.Join(tr.dir, junit))
	if err != nil {
		t.Fatalf("%s: %v", l.text, err)
	}
	var doc struct {
		Suites []struct {
			Name string `xml:"name,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s is not JUnit XML: %v", junit, err)
	}
	if len(doc.Suites) != len(expected) {
		t.Errorf("%s holds %d test suites, want one per run (%d)", junit, len(doc.Suites), len(expected))
	}
}

// checkMakeSuite checks that `make suite` (which the tour does not run a
// second time) runs the README's suite line, up to where JUnit goes.
func checkMakeSuite(t *testing.T, tr *tour, l readmeLine) {
	t.Helper()
	r := tr.run(time.Minute, "make", "-n", "suite")
	var recipe []string
	for line := range strings.Lines(r.stdout) {
		if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[0], "bin/tflab") && f[1] == "suite" {
			recipe = f
		}
	}
	strip := func(args []string) []string {
		out := slices.Clone(args[1:])
		if i := slices.Index(out, "--junit"); i >= 0 && i+1 < len(out) {
			out = slices.Delete(out, i, i+2)
		}
		return out
	}
	if recipe == nil || !slices.Equal(strip(recipe), strip(l.args)) {
		t.Errorf("make suite runs %q, the README %q (want the same up to --junit)\n%s", recipe, l.text, r)
	}
}

// copyRepo copies the module's tracked and untracked, not ignored files
// (a fresh clone of the working tree) into dst.
func copyRepo(t *testing.T, root, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for name := range strings.SplitSeq(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		} else if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadmeTour types the README's commands in a fresh copy of the
// repository, in order, and checks each one's exit code and key output.
// `tflab up` runs in the background for the commands that need a lab;
// `tflab down` stops it, and a second `tflab up` is stopped by Ctrl-C (SIGINT
// to its process group); after each, no process of the lab is left.
//
// TFLAB_TOUR=word,word runs only the README lines containing one of the
// words as a whole word (plus `make build`); TFLAB_SCENARIOS=a,b narrows the suite line.
func TestReadmeTour(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Load(systems.Vocabularies())
	if err != nil {
		t.Fatal(err)
	}
	// The copy stays for a failed tour (its runs/ holds every log).
	tmp, err := os.MkdirTemp("", "tflab-tour-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the tour's copy and its runs stay in %s", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	})
	tr := &tour{t: t, dir: filepath.Join(tmp, "tflab"), catalog: c}
	copyRepo(t, root, tr.dir)
	readme, err := os.ReadFile(filepath.Join(tr.dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []readmeLine
	for _, heading := range []string{"Two commands", "A short tour"} {
		block, err := readmeBlock(string(readme), heading)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, block...)
	}
	// make build comes first, whatever the README's order: every other
	// command needs bin/tflab.
	slices.SortStableFunc(lines, func(a, b readmeLine) int {
		return boolInt(a.text != "make build") - boolInt(b.text != "make build")
	})
	var pick []string
	if env := os.Getenv("TFLAB_TOUR"); env != "" {
		pick = strings.Split(env, ",")
	}
	for _, l := range lines {
		if l.args[0] == "bin/tflab" && len(l.args) > 1 && l.args[1] == "up" {
			tourUpArgs = l.args
		}
	}
	for _, l := range lines {
		var exp *expectation
		for i := range expectations {
			e := &expectations[i]
			if (l.text == e.match || strings.HasPrefix(l.text, e.match+" ")) && (exp == nil || len(e.match) > len(exp.match)) {
				exp = e
			}
		}
		if exp == nil {
			t.Errorf("README command %q has no expectation in TestReadmeTour: add one", l.text)
			continue
		}
		if pick != nil && l.text != "make build" && !slices.ContainsFunc(pick, func(w string) bool {
			return regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(strings.TrimSpace(w)) + `(\s|$)`).MatchString(l.text)
		}) {
			t.Logf("$ %s  → skipped (TFLAB_TOUR)", l.text)
			continue
		}
		exp.check(tr, l)
	}
	if tr.up != nil {
		t.Error("the tour leaves `tflab up` running: it has no `tflab down`")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func journal(t *testing.T, runDir string) *report.Journal {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	j, err := report.ReadJournal(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// requireViolated fails unless each wanted invariant is VIOLATED in the
// journal with at least one named violation.
// unpassedRows prints a journal's rows that did not pass, each with its
// evidence and up to five findings: the run directory goes with the tour's
// temporary copy, so this is what is left to diagnose a red run.
func unpassedRows(j *report.Journal) string {
	var b strings.Builder
	for _, v := range j.Verdicts {
		if v.Result == check.Pass || v.Result == check.Skipped {
			continue
		}
		fmt.Fprintf(&b, "%s %s %s: %s\n", cmp.Or(v.Invariant, v.Probe), v.Name, v.Result, v.Evidence)
		for i, f := range v.Violations {
			if i == 5 {
				fmt.Fprintf(&b, "  … %d more\n", len(v.Violations)-5)
				break
			}
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	return b.String()
}

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

func TestNotPassed(t *testing.T) {
	out := `quickstart: PASS (exit 0) in 10s: ok
RUN                       VERDICT       EXIT  TOOK   BROKER  REASON
quickstart                PASS          0     10s    own     every checked invariant held
quickstart (control)      INCONCLUSIVE  5     20s    own     evidence missing
slow-consumer-backlog     FAIL          4     20s    own     TF2 violated
`
	got := notPassed(out)
	want := []string{
		"quickstart (control) INCONCLUSIVE 5 20s own evidence missing",
		"slow-consumer-backlog FAIL 4 20s own TF2 violated",
	}
	if !slices.Equal(got, want) {
		t.Errorf("notPassed = %q, want %q", got, want)
	}
	if got := notPassed("RUN VERDICT\nquickstart PASS 0\n"); !slices.Equal(got, []string{"none in the summary table"}) {
		t.Errorf("all passed: %q", got)
	}
}

func TestUnpassedRows(t *testing.T) {
	j := &report.Journal{Verdicts: []report.InvariantVerdict{
		{Invariant: "TF1", Name: "NoLostInquiry", Result: check.Pass, Evidence: "30 checked"},
		{Invariant: "TF10", Name: "Quiescence", Result: check.Violated, Evidence: "sla-ticket-changes: 3 ready",
			Violations: []check.Violation{{Category: check.Stuck, Subject: "queue sla-ticket-changes", Detail: "3 ready"}}},
		{Probe: "queues-empty", Name: "steady state after: queues-empty", Result: "DEVIATED", Evidence: "timeout"},
		{Invariant: "Q1", Name: "TotalQueue", Result: check.Skipped},
	}}
	got := unpassedRows(j)
	for _, want := range []string{"TF10 Quiescence VIOLATED: sla-ticket-changes: 3 ready", "queue sla-ticket-changes", "queues-empty steady state after: queues-empty DEVIATED: timeout"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "TF1 ") || strings.Contains(got, "Q1") {
		t.Errorf("passed or skipped rows printed:\n%s", got)
	}
}
