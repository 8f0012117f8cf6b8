//go:build integration

package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// tflabBinary builds cmd/tflab once, with the labtest tag so that it knows
// the placeholder system: the lab starts services as
// `tflab serve <system>/<service>` processes.
func tflabBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tflab-run-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tflab")
		out, err := exec.Command("go", "build", "-tags", "labtest", "-o", binPath, "../../cmd/tflab").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// placeholderLab is a lab of the placeholder system (one service that only
// holds an AMQP connection) on its own private node, so broker faults and
// rabbitmqctl work.
func placeholderLab(t *testing.T) lab.Config {
	t.Helper()
	install, err := rabbitnode.Locate(os.Getenv("TFLAB_RABBITMQ_BIN_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	return lab.Config{
		System:   "placeholder",
		Services: []lab.ServiceSpec{{Name: "placeholder", Settings: map[string]string{"amqp.heartbeat": "2s"}}},
		Broker:   broker.Private{NodeName: fmt.Sprintf("tflabruntest%d%d", os.Getpid(), rand.IntN(1000)), Install: install},
		Command:  []string{tflabBinary(t), "--log-level=info", "serve"},
	}
}

// noLoad is a workload block for a system whose driver does nothing.
type noLoad struct{}

func (noLoad) Span() time.Duration { return 0 }

// placeholderSystem is the placeholder system with load as its workload
// driver (the placeholder has no API to drive).
func placeholderSystem(load sut.Workload) sut.System {
	s := placeholder.System()
	s.Workload = load
	return s
}

// noWorkload stands in for a workload: the placeholder has no API.
func noWorkload(context.Context, spec.WorkloadConfig, sut.LoadEnv) ([]history.Record, error) {
	return nil, nil
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The whole loop against a real lab: a link outage, a kill -9 with restart
// and a memory alarm, each healed on time, with their evidence; the reports
// written; the lab stopped; Verify reaching the same verdict offline.
func TestRunExecutesTheTimelineAgainstARealLab(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	plan := &spec.Plan{
		Scenario: "placeholder-faults", Seed: 3,
		Protections: map[string]map[string]bool{},
		SteadyState: spec.SteadyState{
			Before: []spec.Probe{{Probe: ProbeServicesHealthy}, {Probe: ProbeBrokerHealthy}},
			After:  []spec.Probe{{Probe: ProbeServicesHealthy, Timeout: spec.Duration(20 * time.Second)}, {Probe: ProbeBrokerHealthy}},
		},
		Workload: spec.Workload{Settle: spec.Duration(5 * time.Second), Config: noLoad{}},
		Timeline: []spec.Scheduled{
			{Name: "placeholder-down", At: 300 * time.Millisecond, HealAt: 2 * time.Second, Action: &spec.OutageAction{Link: "placeholder"}},
			{Name: "kill-placeholder", At: 2500 * time.Millisecond, HealAt: 3500 * time.Millisecond, Action: &spec.ProcessAction{Op: "kill", Service: "placeholder"}},
			{Name: "memory-alarm", At: 4 * time.Second, HealAt: 5 * time.Second, Action: &spec.BrokerAction{Op: "memory-alarm"}},
		},
		End: 5 * time.Second,
		Evidence: []history.Requirement{{Counter: "connections.reopened", Op: ">", Value: 0},
			{Counter: "processes.killed", Op: "==", Value: 1}, {Counter: "broker.alarms", Op: "==", Value: 1}},
	}
	var progress logBuffer
	res, err := Run(t.Context(), Config{Plan: plan, Lab: placeholderLab(t), Dir: dir, System: placeholderSystem(noWorkload),
		Progress: &progress, ProgressEvery: 200 * time.Millisecond, Log: labtest.Logger(t)})
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	h := res.History
	for _, f := range h.Faults {
		if !f.Applied() || f.HealError != "" || !f.Healed.After(f.Started) {
			t.Errorf("fault %+v", f)
		}
		if d := f.Started.Sub(h.Meta.Start) - time.Duration(f.PlannedAt); d < 0 || d > time.Second {
			t.Errorf("%s started %v after its planned offset", f.Name, d)
		}
	}
	for _, e := range res.Verdict.Evidence {
		if !e.Met {
			t.Errorf("evidence %s: observed %v (recorded %v)", e.Requirement, e.Observed, e.Present)
		}
	}
	if len(h.Probes) != 4 {
		t.Errorf("probes %+v", h.Probes)
	}
	for _, p := range h.Probes {
		if !p.OK {
			t.Errorf("probe %s %s failed: %s", p.Phase, p.Name, p.Detail)
		}
	}
	if !strings.Contains(progress.String(), "faults: [placeholder-down]") {
		t.Errorf("progress never showed the active fault:\n%s", progress.String())
	}
	for _, f := range []string{history.RunFile, history.EventsFile, JournalFile, JUnitFile, ReportFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	in, err := lab.ReadInfo(dir)
	if err != nil || in.Running || in.StoppedAt == nil {
		t.Errorf("lab left running: %+v %v", in, err)
	}
	v, err := Verify(dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict.Outcome != res.Verdict.Outcome || v.Verdict.Reason != res.Verdict.Reason {
		t.Errorf("verify: %s %q, run: %s %q", v.Verdict.Outcome, v.Verdict.Reason, res.Verdict.Outcome, res.Verdict.Reason)
	}
	if res.Verdict.Outcome == check.OutcomePass {
		t.Errorf("a run without a workload cannot pass: %s", res.Verdict.Reason)
	}
}

// Ctrl-C in the middle of a fault: the fault is healed on a live context,
// the lab is stopped, and Run says it was interrupted.
func TestRunInterruptedHealsAndStopsTheLab(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	plan := &spec.Plan{
		Scenario: "placeholder-interrupted", Seed: 4, Protections: map[string]map[string]bool{},
		Timeline: []spec.Scheduled{{Name: "placeholder-down", At: 200 * time.Millisecond, HealAt: time.Minute,
			Action: &spec.OutageAction{Link: "placeholder"}}},
		Rollbacks: []spec.Step{{Action: &spec.ProcessAction{Op: "resume", Service: "placeholder"}}},
		End:       time.Minute,
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs logBuffer
	progress := &cancelOn{marker: "faults: [placeholder-down]", cancel: cancel}
	_, err := Run(ctx, Config{Plan: plan, Lab: placeholderLab(t), Dir: dir, System: placeholderSystem(func(ctx context.Context, _ spec.WorkloadConfig, _ sut.LoadEnv) ([]history.Record, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), Progress: progress, ProgressEvery: 100 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	out := logs.String()
	if !regexp.MustCompile(`msg="Anomaly healed" .*anomaly=link-down-placeholder err=<nil>`).MatchString(out) {
		t.Errorf("the outage was not healed (err %v):\n%s", err, out)
	}
	if !strings.Contains(out, `msg="Rollback done"`) {
		t.Errorf("rollbacks did not run after the interrupt:\n%s", out)
	}
	in, err := lab.ReadInfo(dir)
	if err != nil || in.Running {
		t.Fatalf("lab left running: %v", err)
	}
	for id, s := range in.Services {
		if lab.ProcessState(s.PID) != "exited" {
			t.Errorf("service %s (pid %d) still running", id, s.PID)
		}
	}
}

// cancelOn cancels when a progress line contains marker.
type cancelOn struct {
	marker string
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.marker) {
		c.once.Do(c.cancel)
	}
	return len(p), nil
}

// ticketflowLab is a lab of the whole Ticketflow system on its own private node.
func ticketflowLab(t *testing.T) lab.Config {
	t.Helper()
	cfg := placeholderLab(t)
	cfg.System = "ticketflow"
	cfg.Services = nil
	for _, s := range []string{"translations", "tickets", "inquiries", "communication", "sla", "metrics"} {
		cfg.Services = append(cfg.Services, lab.ServiceSpec{Name: s})
	}
	return cfg
}

// slaStall is the stall in small: the message proxy swallows SLA's
// ack of one TicketCreated. SLA consumes with prefetch 1, so the broker
// hands it nothing more while the channel lives, and every later ticket
// event waits in sla-ticket-changes until the end: `ackTimeout: 0` keeps
// the proxy from closing the channel as the broker's consumer_timeout would.
const slaStall = `
name: sla-stall
description: One dropped ack stalls SLA's prefetch-1 consumer; its queue holds the rest.
seed: 41
workload:
  inquiries: 4
  rate: 5
  qualifyShare: 1
  settle: 3s
steadyState:
  before:
    - probe: services-healthy
    - probe: broker-healthy
method:
  - name: lose-one-sla-ack
    at: 0s
    duration: 5s
    type: message
    fault: drop-ack
    service: sla
    match: {messageType: TicketCreated, count: 1}
    ackTimeout: 0s
evidence:
  - proxy.acks-dropped == 1
expect: pass
`

// Stuck is not lost: the run's verdict names sla-ticket-changes as stuck
// with its reason, TF10 fails it, no finding says lost, and verify agrees
// offline.
func TestRunStuckConsumerIsStuckNotLost(t *testing.T) {
	res, dir := runTicketflowYAML(t, "sla-stall.yaml", slaStall)
	v := res.Verdict
	hd := res.History.Snapshot.Holdings
	if hd == nil {
		t.Fatal("no holdings recorded")
	}
	i := slices.IndexFunc(hd.Queues, func(q history.QueueHolding) bool { return q.Queue == "sla-ticket-changes" })
	if i < 0 {
		t.Fatalf("holdings %+v lack sla-ticket-changes", hd)
	}
	q := hd.Queues[i]
	if q.Unacked != 1 || q.Ready == 0 || len(q.Messages) != q.Ready || len(q.Consumers) != 1 ||
		q.Consumers[0].Service != "sla" || q.Consumers[0].Prefetch != 1 {
		t.Errorf("sla-ticket-changes holding %+v; want 1 unacked, the ready messages read, sla's consumer at prefetch 1", q)
	}
	tf10, _ := v.Result("TF10")
	if tf10.Status != check.Violated || !strings.Contains(tf10.Evidence(), "sla-ticket-changes: ") ||
		!strings.Contains(tf10.Evidence(), "1 unacked") || !strings.Contains(tf10.Evidence(), "by sla (prefetch 1)") {
		t.Errorf("TF10 = %s %q; want violated naming sla-ticket-changes and its consumer", tf10.Status, tf10.Evidence())
	}
	stuck := 0
	for _, r := range v.Results {
		for _, f := range r.Violations {
			switch f.Category {
			case check.Lost:
				t.Errorf("%s reports lost: %s", r.ID, f)
			case check.Stuck:
				if r.ID != "TF10" {
					stuck++
					if !strings.Contains(f.Detail, "stuck in sla-ticket-changes: a consumer holding 1 unacked delivery") {
						t.Errorf("%s: stuck finding without its queue and reason: %s", r.ID, f)
					}
				}
			}
		}
	}
	if stuck == 0 {
		t.Errorf("no invariant found a stuck subject:\n%s", verdictText(v))
	}
	if v.Outcome != check.OutcomeFail || !strings.Contains(v.Reason, "TF10") {
		t.Errorf("verdict %s %q; want FAIL on TF10", v.Outcome, v.Reason)
	}
	off, err := Verify(dir, VerifyOptions{Systems: testSystems})
	if err != nil {
		t.Fatal(err)
	}
	if off.Verdict.Outcome != v.Outcome || off.Verdict.Reason != v.Reason {
		t.Errorf("verify: %s %q, run: %s %q", off.Verdict.Outcome, off.Verdict.Reason, v.Outcome, v.Reason)
	}
}

// With the default ack timeout the same lost ack does what the broker's
// consumer_timeout does in production: the proxy closes SLA's channel with
// 406, the broker requeues the delivery, SLA resubscribes and its inbox
// drops the repeat. Nothing is stuck and the run passes.
func TestRunLostAckTimesOutAndIsRequeued(t *testing.T) {
	src := strings.Replace(slaStall, "    ackTimeout: 0s\n", "", 1)
	src = strings.Replace(src, "  - proxy.acks-dropped == 1\n", "  - proxy.acks-dropped == 1\n  - proxy.ack-timeouts >= 1\n  - dedup.skips >= 1\n", 1)
	if src == slaStall || !strings.Contains(src, "proxy.ack-timeouts") {
		t.Fatal("the stall scenario no longer has the lines this test edits")
	}
	res, _ := runTicketflowYAML(t, "sla-ack-timeout.yaml", src)
	v := res.Verdict
	if v.Outcome != check.OutcomePass {
		t.Errorf("verdict %s %q; want PASS: the delivery is requeued after the timeout and handled once", v.Outcome, v.Reason)
	}
	if tf10, _ := v.Result("TF10"); tf10.Status != check.Pass {
		t.Errorf("TF10 = %s %q", tf10.Status, tf10.Evidence())
	}
	if tf2, _ := v.Result("TF2"); tf2.Status != check.Pass {
		t.Errorf("TF2 = %s %q; the requeued delivery must be handled once", tf2.Status, tf2.Evidence())
	}
}

// runTicketflowYAML runs a scenario given as YAML against a whole Ticketflow
// lab on its own node and returns the judged run and its directory.
func runTicketflowYAML(t *testing.T, name, src string) (*Result, string) {
	t.Helper()
	sc, err := spec.Parse(name, []byte(src), ticketflowVocs)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sc.Plan(spec.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	var progress logBuffer
	res, err := Run(t.Context(), Config{Plan: plan, Lab: ticketflowLab(t), Dir: dir, System: ticketflow.System(),
		Progress: &progress, Log: labtest.Logger(t)})
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	t.Logf("verdict %s %q:\n%s", res.Verdict.Outcome, res.Verdict.Reason, verdictText(res.Verdict))
	return res, dir
}

func verdictText(v check.Verdict) string {
	var b strings.Builder
	for _, r := range v.Results {
		fmt.Fprintf(&b, "%s %s %s\n", r.ID, r.Status, r.Evidence())
	}
	return b.String()
}

// A steady state that does not hold before the method: nothing is injected
// and the workload never runs, but the run is recorded like any other — the
// probes as rows, the verdict INCONCLUSIVE "not started", the reports
// written — and Run says which probe failed. The placeholder system has no
// Ticketflow services, so its end-to-end probe fails for real.
func TestRunNotStartedWhenTheSteadyStateFailsBefore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	plan := &spec.Plan{
		Scenario: "placeholder-not-started", Seed: 5, Protections: map[string]map[string]bool{},
		SteadyState: spec.SteadyState{Before: []spec.Probe{{Probe: ProbeServicesHealthy}, {Probe: ProbeEndToEnd, Timeout: spec.Duration(5 * time.Second)}}},
		Workload:    spec.Workload{Settle: spec.Duration(time.Second), Config: noLoad{}},
		Timeline: []spec.Scheduled{{Name: "placeholder-down", At: 0, HealAt: time.Second,
			Action: &spec.OutageAction{Link: "placeholder"}}},
		End:      time.Second,
		Evidence: []history.Requirement{{Counter: "connections.reopened", Op: ">", Value: 0}},
	}
	var calls atomic.Int32
	res, err := Run(t.Context(), Config{Plan: plan, Lab: placeholderLab(t), Dir: dir, Log: labtest.Logger(t),
		System: placeholderSystem(func(ctx context.Context, cfg spec.WorkloadConfig, env sut.LoadEnv) ([]history.Record, error) {
			calls.Add(1)
			return noWorkload(ctx, cfg, env)
		})})
	if !errors.Is(err, ErrSteadyState) || !strings.Contains(err.Error(), "end-to-end: system placeholder has no end-to-end probe") {
		t.Fatalf("err %v, want ErrSteadyState naming the end-to-end probe", err)
	}
	if res == nil {
		t.Fatal("no Result for a run that did not start")
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the workload ran %d times; the method must not start", n)
	}
	v, h := res.Verdict, res.History
	wantReason := "not started: steady state not met before the method: end-to-end (system placeholder has no end-to-end probe"
	if v.Outcome != check.OutcomeInconclusive || v.ExitCode != check.ExitInconclusive || !strings.HasPrefix(v.Reason, wantReason) {
		t.Errorf("verdict %s (%d): %s", v.Outcome, v.ExitCode, v.Reason)
	}
	if len(h.Faults) != 0 || len(h.Events) != 0 {
		t.Errorf("a run that did not start has %d faults and %d events", len(h.Faults), len(h.Events))
	}
	if len(v.Probes) != 2 || !v.Probes[0].OK || v.Probes[1].Status() != check.NotMet {
		t.Errorf("probe rows %+v", v.Probes)
	}
	for _, f := range []string{history.RunFile, JournalFile, JUnitFile, ReportFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	junit, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err != nil || !strings.Contains(string(junit), `type="steady-state-not-met"`) {
		t.Errorf("junit.xml lacks the failed probe (%v):\n%s", err, junit)
	}
	in, err := lab.ReadInfo(dir)
	if err != nil || in.Running || in.StoppedAt == nil {
		t.Errorf("lab left running: %+v %v", in, err)
	}
	again, err := Verify(dir, VerifyOptions{})
	if err != nil || again.Verdict.Reason != v.Reason {
		t.Errorf("verify: %v %q, run: %q", err, again.Verdict.Reason, v.Reason)
	}
}
