//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := labtest.Main(m) // stops the shared node if a test started one
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// tflabBinary builds ./cmd/tflab once per test binary, with the labtest tag
// so that it knows the placeholder system.
func tflabBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tflab-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "tflab")
		out, err := exec.Command("go", "build", "-tags", "labtest", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// upProc is a `tflab up` running in the background.
type upProc struct {
	cmd            *exec.Cmd
	runDir         string
	stdout, stderr *labtest.SyncBuffer
	done           chan struct{}
	err            error
}

// startUp runs `tflab up --ports random --run-dir runs/<name> args…` in workDir.
func startUp(t *testing.T, workDir, name string, args ...string) *upProc {
	t.Helper()
	u := &upProc{runDir: filepath.Join(workDir, "runs", name), stdout: &labtest.SyncBuffer{}, stderr: &labtest.SyncBuffer{}, done: make(chan struct{})}
	u.cmd = exec.Command(tflabBinary(t), append([]string{"up", "--system", "placeholder", "--ports", "random", "--run-dir", filepath.Join("runs", name)}, args...)...)
	u.cmd.Dir = workDir
	u.cmd.Stdout, u.cmd.Stderr = u.stdout, u.stderr
	labtest.DieWithTest(u.cmd)
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		u.err = u.cmd.Wait()
		close(u.done)
	}()
	t.Cleanup(func() {
		select {
		case <-u.done:
		default:
			_ = u.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-u.done:
			case <-time.After(60 * time.Second):
				_ = u.cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", name, u.stdout, u.stderr)
		}
	})
	return u
}

// waitReady waits until up says it is ready and returns the time it took.
func (u *upProc) waitReady(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	labtest.Eventually(t, 90*time.Second, func() error {
		select {
		case <-u.done:
			return fmt.Errorf("tflab up exited early: %v\n%s", u.err, u.stderr)
		default:
		}
		if !strings.Contains(u.stdout.String(), "Stop with Ctrl-C") {
			return errors.New("not ready yet")
		}
		return nil
	})
	return time.Since(start)
}

// readyAfter is the time up itself reports between start and all healthy.
func (u *upProc) readyAfter(t *testing.T) time.Duration {
	in, err := lab.ReadInfo(u.runDir)
	if err != nil || in.ReadyAt == nil {
		t.Fatalf("lab.json without ready_at: %v", err)
	}
	return in.ReadyAt.Sub(in.StartedAt)
}

// run runs tflab to completion in workDir.
func runTflab(t *testing.T, workDir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(tflabBinary(t), args...)
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	labtest.DieWithTest(cmd)
	err := cmd.Run()
	code = 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// statusJSON runs `status --json` and decodes it generically, so the test
// checks the public key names, not our own struct tags.
func statusJSON(t *testing.T, workDir string, args ...string) (map[string]any, int) {
	t.Helper()
	out, stderr, code := runTflab(t, workDir, nil, append([]string{"status", "--json"}, args...)...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("status --json is not JSON (%v): %q\nstderr: %s", err, out, stderr)
	}
	return doc, code
}

func str(t *testing.T, doc map[string]any, path ...string) string {
	t.Helper()
	v := dig(t, doc, path...)
	s, ok := v.(string)
	if !ok || s == "" {
		t.Fatalf("%s = %#v, want a non-empty string", strings.Join(path, "."), v)
	}
	return s
}

func dig(t *testing.T, doc map[string]any, path ...string) any {
	t.Helper()
	var cur any = doc
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: not an object", strings.Join(path, "."))
		}
		cur = m[p]
	}
	return cur
}

// checkContract asserts the public status --json contract for the given
// services and returns every port the lab uses.
func checkContract(t *testing.T, doc map[string]any, services ...string) []string {
	t.Helper()
	var addrs []string
	amqp := str(t, doc, "broker", "amqp")
	mgmt := str(t, doc, "broker", "management")
	toxi := str(t, doc, "toxiproxy")
	hp, err := broker.HostPort(amqp)
	if err != nil {
		t.Fatal(err)
	}
	labAPI := str(t, doc, "lab_api")
	addrs = append(addrs, hp, strings.TrimPrefix(mgmt, "http://"), strings.TrimPrefix(toxi, "http://"), strings.TrimPrefix(labAPI, "http://"))
	svcs, ok := dig(t, doc, "services").(map[string]any)
	if !ok || len(svcs) != len(services) {
		t.Fatalf("services = %#v, want %v", dig(t, doc, "services"), services)
	}
	for _, name := range services {
		httpURL := str(t, doc, "services", name, "http")
		proxy := str(t, doc, "services", name, "amqp_proxy")
		if pid, ok := dig(t, doc, "services", name, "pid").(float64); !ok || pid <= 0 {
			t.Fatalf("services.%s.pid = %#v", name, dig(t, doc, "services", name, "pid"))
		}
		if h, ok := dig(t, doc, "services", name, "healthy").(bool); !ok || !h {
			t.Fatalf("services.%s.healthy = %#v", name, dig(t, doc, "services", name, "healthy"))
		}
		addrs = append(addrs, strings.TrimPrefix(httpURL, "http://"), proxy, str(t, doc, "services", name, "message_proxy"))
	}
	return addrs
}

// descendants lists every process below pid (by /proc parent links),
// leaving out epmd, which the first node daemonizes for the whole machine.
func descendants(pid int) map[int]string {
	parent := map[int]int{}
	comm := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		f := strings.Fields(s[j+1:])
		if i < 0 || j < 0 || len(f) < 2 {
			continue
		}
		comm[p] = s[i+1 : j]
		parent[p], _ = strconv.Atoi(f[1])
	}
	out := map[int]string{}
	queue := []int{pid}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for p, pp := range parent {
			if pp == cur && comm[p] != "epmd" {
				if _, seen := out[p]; !seen {
					out[p] = comm[p]
					queue = append(queue, p)
				}
			}
		}
	}
	return out
}

// TestLabs runs two labs at once on random ports and, against them, checks
// status --json, an external-broker lab with two instances, bench, down,
// and that SIGKILL of tflab leaves no broker or service behind.
func TestLabs(t *testing.T) {
	work := t.TempDir()
	tflabBinary(t)
	a := startUp(t, work, "a", "--seed", "11")
	b := startUp(t, work, "b")
	a.waitReady(t)
	b.waitReady(t)
	t.Logf("up reported every component healthy after %s (a) and %s (b), two labs booting at once",
		a.readyAfter(t).Round(10*time.Millisecond), b.readyAfter(t).Round(10*time.Millisecond))
	for _, u := range []*upProc{a, b} {
		out := u.stdout.String()
		for _, want := range []string{"broker AMQP", "management UI", "Toxiproxy API", "placeholder HTTP", "placeholder proxy", "placeholder service only"} {
			if !strings.Contains(out, want) {
				t.Fatalf("up's table lacks %q:\n%s", want, out)
			}
		}
	}

	docA, code := statusJSON(t, work, "--run-dir", a.runDir)
	if code != 0 {
		t.Fatalf("status exit %d", code)
	}
	docB, _ := statusJSON(t, work, "--run-dir", b.runDir)
	addrsA := checkContract(t, docA, "placeholder")
	addrsB := checkContract(t, docB, "placeholder")
	for _, addr := range addrsA {
		if slices.Contains(addrsB, addr) {
			t.Fatalf("labs a and b share %s:\na %v\nb %v", addr, addrsA, addrsB)
		}
	}
	if seed := dig(t, docA, "seed"); seed != float64(11) {
		t.Fatalf("seed %v, want 11", seed)
	}
	brokerA := str(t, docA, "broker", "amqp")
	mgmtA := str(t, docA, "broker", "management")

	t.Run("status without --run-dir finds a live lab", func(t *testing.T) {
		doc, code := statusJSON(t, work)
		dir := str(t, doc, "run_dir")
		if code != 0 || (dir != a.runDir && dir != b.runDir) {
			t.Fatalf("status found %s (exit %d)", dir, code)
		}
	})

	t.Run("external broker, two instances, then down", func(t *testing.T) {
		c := startUp(t, work, "c", "--amqp-url", brokerA, "--management-url", mgmtA, "--scale", "placeholder=2")
		c.waitReady(t)
		doc, _ := statusJSON(t, work, "--run-dir", c.runDir)
		checkContract(t, doc, "placeholder", "placeholder-2")
		if p := str(t, doc, "services", "placeholder-2", "proxy"); p != "placeholder-2-amqp" {
			t.Fatalf("second instance's proxy is %s", p)
		}
		if got, mgmt := str(t, doc, "broker", "amqp"), str(t, doc, "broker", "management"); got != brokerA || mgmt != mgmtA {
			t.Fatalf("lab c uses %s (%s), want the external %s (%s)", got, mgmt, brokerA, mgmtA)
		}
		in, _ := lab.ReadInfo(c.runDir)
		out, stderr, code := runTflab(t, work, nil, "down", "--run-dir", c.runDir)
		if code != 0 || !strings.Contains(out, "Stopped the lab") {
			t.Fatalf("down exit %d: %s %s", code, out, stderr)
		}
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Fatal("up did not exit after down")
		}
		if c.err != nil {
			t.Fatalf("up exited with %v after down", c.err)
		}
		for id, s := range in.Services {
			if lab.ProcessState(s.PID) != "exited" {
				t.Fatalf("%s (pid %d) survived down", id, s.PID)
			}
		}
		if err := broker.Ping(t.Context(), brokerA, 5*time.Second); err != nil {
			t.Fatalf("down of lab c stopped the external broker: %v", err)
		}
		if _, _, code := runTflab(t, work, nil, "status", "--run-dir", c.runDir); code != 1 {
			t.Fatalf("status of a stopped lab exited %d, want 1", code)
		}
	})

	t.Run("ticketflow with two SLA instances", func(t *testing.T) {
		start := time.Now()
		d := startUp(t, work, "d", "--system", "ticketflow", "--amqp-url", brokerA, "--management-url", mgmtA, "--instances", "sla=2")
		d.waitReady(t)
		doc, _ := statusJSON(t, work, "--run-dir", d.runDir)
		checkContract(t, doc, "translations", "tickets", "inquiries", "communication", "sla", "sla-2", "metrics")
		// The standby shares the active instance's database.
		if a, b := str(t, doc, "services", "sla", "db"), str(t, doc, "services", "sla-2", "db"); a != b {
			t.Fatalf("sla uses %s, sla-2 %s: want one database", a, b)
		}
		// Both consume sla-ticket-changes, one of them actively.
		var q struct {
			Consumers int            `json:"consumers"`
			Arguments map[string]any `json:"arguments"`
			SACTag    string         `json:"single_active_consumer_tag"`
		}
		labtest.Eventually(t, 20*time.Second, func() error {
			if err := mgmtGet(mgmtA, "/api/queues/%2F/sla-ticket-changes", &q); err != nil {
				return err
			}
			if q.Consumers != 2 || q.SACTag == "" {
				return fmt.Errorf("sla-ticket-changes: %d consumers, active %q", q.Consumers, q.SACTag)
			}
			return nil
		})
		if q.Arguments["x-single-active-consumer"] != true {
			t.Fatalf("sla-ticket-changes arguments %v", q.Arguments)
		}
		if out, stderr, code := runTflab(t, work, nil, "down", "--run-dir", d.runDir); code != 0 {
			t.Fatalf("down exit %d: %s %s", code, out, stderr)
		}
		<-d.done
		t.Logf("ticketflow with sla=2 up, checked and down in %s", time.Since(start).Round(100*time.Millisecond))
	})

	t.Run("bench proxy", func(t *testing.T) {
		out, stderr, code := runTflab(t, work, nil, "bench", "proxy", "--amqp-url", brokerA, "--messages", "2000", "--rounds", "1")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{"direct ", "toxiproxy ", "ratio "} {
			if !strings.Contains(out, want) {
				t.Fatalf("bench output lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(stderr, "2000/2000 messages") {
			t.Fatalf("no progress line on stderr:\n%s", stderr)
		}
		t.Logf("bench proxy (2000 messages, 1 round, two labs running):\n%s", out)
	})

	t.Run("missing rabbitmq-server exits 3 saying what to install", func(t *testing.T) {
		_, stderr, code := runTflab(t, work, []string{rabbitBinDirEnv + "=" + t.TempDir()}, "up", "--ports", "random", "--run-dir", filepath.Join(t.TempDir(), "r"))
		if code != 3 || !strings.Contains(stderr, "apt-get install -y rabbitmq-server") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("SIGKILL of tflab up leaves no child behind", func(t *testing.T) {
		in, err := lab.ReadInfo(a.runDir)
		if err != nil {
			t.Fatal(err)
		}
		kids := descendants(in.ControlPID)
		pids := []int{in.Broker.PID}
		for _, s := range in.Services {
			pids = append(pids, s.PID)
		}
		for _, p := range pids {
			if _, ok := kids[p]; !ok {
				t.Fatalf("pid %d from lab.json is not a child of the control process (children: %v)", p, kids)
			}
		}
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-a.done
		start := time.Now()
		labtest.Eventually(t, 10*time.Second, func() error {
			var left []string
			for p, name := range kids {
				if lab.ProcessState(p) != "exited" {
					left = append(left, fmt.Sprintf("%d (%s)", p, name))
				}
			}
			if len(left) > 0 {
				return fmt.Errorf("still running: %v", left)
			}
			return nil
		})
		t.Logf("all %d children of the killed tflab were gone %s after SIGKILL", len(kids), time.Since(start).Round(10*time.Millisecond))
		if _, code := statusJSON(t, work, "--run-dir", a.runDir); code != 1 {
			t.Fatalf("status of a killed lab exited %d, want 1", code)
		}
	})

	t.Run("down without --run-dir stops the live lab", func(t *testing.T) {
		in, _ := lab.ReadInfo(b.runDir)
		out, stderr, code := runTflab(t, work, nil, "down")
		if code != 0 || !strings.Contains(out, filepath.Base(b.runDir)) {
			t.Fatalf("down exit %d: %s %s", code, out, stderr)
		}
		<-b.done
		if b.err != nil || !strings.Contains(b.stdout.String(), "Lab stopped") {
			t.Fatalf("up b: %v\n%s", b.err, b.stdout)
		}
		for _, p := range append([]int{in.Broker.PID}, in.Services["placeholder"].PID) {
			if lab.ProcessState(p) != "exited" {
				t.Fatalf("pid %d survived down", p)
			}
		}
		if _, stderr, code := runTflab(t, work, nil, "down"); code != 1 || !strings.Contains(stderr, "no running lab") {
			t.Fatalf("down with no lab: exit %d %s", code, stderr)
		}
	})
}

// mgmtGet GETs a management API path (guest credentials, as the private
// node has) and decodes the JSON answer into into.
func mgmtGet(base, path string, into any) error {
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("guest", "guest")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
