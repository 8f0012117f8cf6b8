package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/netfilter"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// ErrSteadyState reports that the system was not in its steady state before
// the faults: the experiment was not run. Run returns it with a Result whose
// verdict is INCONCLUSIVE ("not started") and whose reports are written.
var ErrSteadyState = errors.New("steady state not met before the method")

// ErrInterrupted reports a run stopped by its context (Ctrl-C) before it
// could be judged; every fault was healed and the lab stopped.
var ErrInterrupted = errors.New("run interrupted")

// ScenarioSettings are the service settings of scenario mode: a short AMQP
// heartbeat, so a paused or cut-off service loses its connection within
// seconds, and a short publisher-confirm timeout, so a held confirm leads to
// a republish within the run.
var ScenarioSettings = map[string]string{"heartbeat": "2s", "confirm-timeout": "1s"}

// defaultMaxAttempts is the messaging layer's default number of handlings
// before a message is dead-lettered (setting max-attempts overrides it).
const defaultMaxAttempts = 5

// Config is one live run of a scenario plan.
type Config struct {
	Plan *spec.Plan
	// Lab is the lab to start: System, Services (names and instances),
	// Broker, Command, Env, Log. The runner sets RunDir, Seed and Ports
	// (random, so runs never collide with a `tflab up`), and each service's
	// Unprotect (from the plan) and Settings (ScenarioSettings, then
	// Settings).
	Lab lab.Config
	// Dir is the run directory, runs/<time>-<scenario>.
	Dir string
	// Settings are added to every service's settings over ScenarioSettings.
	Settings map[string]string
	// System is the system under test: its Workload drives the run, its
	// Probe is the end-to-end probe, its Snapshot reads the services'
	// databases after the settle, its vocabulary's invariants judge the
	// run, and its InspectionQueues (messages stay by design), like
	// dead-letter queues, are never pending or held.
	System sut.System
	// HealthTimeout bounds the wait for every service to be healthy (default 90 s).
	HealthTimeout time.Duration
	// HealTimeout bounds one heal (default anomalies.DefaultHealTimeout).
	HealTimeout time.Duration
	// PollEvery paces the broker watcher, the quiescence check and the
	// live counters of when steps (default 500 ms).
	PollEvery time.Duration
	// WhenGrace is how long after the plan's end, or after the timeline's
	// last activity (a step fired, injected or healed, the workload's hold
	// released) if that is later, a step keyed to an event may still fire;
	// then it is abandoned as never fired (default 30 s).
	WhenGrace time.Duration
	// Progress receives one live line per ProgressEvery (default 1 s) and per
	// phase change; nil prints nothing.
	Progress      io.Writer
	ProgressEvery time.Duration
	Log           *slog.Logger
	// ConsoleURL is the base URL of a console that serves the runs root Dir
	// is in: report.html then links each violation to the console's
	// follow-a-message page of this run too ("" links only the report's
	// own waterfalls).
	ConsoleURL string
}

func (c *Config) setDefaults() {
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = 90 * time.Second
	}
	if c.HealTimeout <= 0 {
		c.HealTimeout = anomalies.DefaultHealTimeout
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 500 * time.Millisecond
	}
	if c.WhenGrace <= 0 {
		c.WhenGrace = 30 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Validate reports what is wrong with the config.
func (c Config) Validate() error {
	var errs []error
	if c.Plan == nil {
		errs = append(errs, errors.New("run: no plan"))
	} else if err := CheckSupported(c.Plan); err != nil {
		errs = append(errs, err)
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("run: run directory must be set"))
	}
	if c.Lab.Broker == nil || len(c.Lab.Command) == 0 || len(c.Lab.Services) == 0 {
		errs = append(errs, errors.New("run: the lab needs a broker, services and a service command"))
	}
	return errors.Join(errs...)
}

// Result is a judged run.
type Result struct {
	Dir     string
	History *history.History
	Verdict check.Verdict
	// Counts are the system's counts of the run (sut.System.Counts).
	Counts []history.Count
	Spans  SpanStats
}

// counts are the system's counts of h (none without a Counts).
func (r *runner) counts(h *history.History) []history.Count {
	if r.cfg.System.Counts == nil {
		return nil
	}
	return r.cfg.System.Counts(h)
}

// runner is the state of one Run.
type runner struct {
	cfg      Config
	plan     *spec.Plan
	log      *slog.Logger
	lab      *lab.Lab
	env      *anomalies.Env
	queues   queueProbe
	tl       *timeline
	probeSeq uint64

	printMu  sync.Mutex // serializes progress lines
	mu       sync.Mutex
	phase    string
	records  []history.Record
	progress string // the workload's live status
	// submitted and accepted are the workload's running totals.
	submitted, accepted int
	begin               time.Time
}

// Run executes a plan against a fresh lab, the etcd-robustness loop in
// Chaos Toolkit's shape:
//
//	lab up ─► steady state before ─► workload ∥ fault timeline ─► rollbacks
//	  ─► settle (queues drained, outboxes relayed) ─► steady state after
//	  ─► snapshot the databases, dead letters and the broker's holdings
//	  ─► lab down ─► read the spans
//	  ─► check.Evaluate ─► history, journal.json, junit.xml, report.html
//
// Every fault is healed in a deferred step and the rollbacks run even when
// ctx is cancelled; the lab is always stopped. A run the context stopped
// before the settle returns ErrInterrupted. A failed steady state before the
// method returns a Result (the probes as rows, verdict INCONCLUSIVE "not
// started", the run files written) together with an error wrapping
// ErrSteadyState. Otherwise the Result carries the verdict.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &runner{cfg: cfg, plan: cfg.Plan, log: cfg.Log.With("scenario", cfg.Plan.Scenario, "seed", cfg.Plan.Seed),
		begin: time.Now()}
	stopProgress := r.startProgress()
	defer stopProgress()

	r.setPhase("starting the lab")
	labCfg := cfg.Lab
	labCfg.RunDir, labCfg.Seed, labCfg.Ports = cfg.Dir, cfg.Plan.Seed, lab.PortsRandom
	labCfg.Services = r.serviceSpecs(cfg.Lab.Services)
	if r.plan.QueueType != "" {
		labCfg.QueueType = r.plan.QueueType
	}
	if r.plan.PartitionHandling != "" {
		labCfg.PartitionHandling = r.plan.PartitionHandling
	}
	if p, ok := labCfg.Broker.(broker.Private); ok && r.plan.Nodes > p.Nodes {
		p.Nodes = r.plan.Nodes
		labCfg.Broker = p
	}
	if labCfg.Log == nil {
		labCfg.Log = r.log
	}
	if vh, ok := labCfg.Broker.(broker.VHost); ok && NeedsOwnBroker(r.plan) {
		return nil, fmt.Errorf("scenario %s on vhost %s of a shared broker: %w", r.plan.Scenario, vh.VHost, ErrNeedsOwnBroker)
	}
	l, err := lab.Start(ctx, labCfg)
	if err != nil {
		return nil, fmt.Errorf("start the lab: %w", err)
	}
	r.lab = l
	stopped := false
	stopLab := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return l.Stop(sctx)
	}
	defer func() {
		if serr := stopLab(); serr != nil && err == nil {
			err = fmt.Errorf("stop the lab: %w", serr)
		}
	}()
	hctx, cancel := context.WithTimeout(ctx, cfg.HealthTimeout)
	err = l.WaitHealthy(hctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ErrInterrupted
		}
		return nil, fmt.Errorf("lab not healthy: %w", err)
	}
	r.env = r.buildEnv(l)
	if cuts, ok := r.env.Cuts.(*netfilter.Lazy); ok {
		// Deferred after the lab's stop was: runs first, after every heal.
		defer func() {
			if cerr := cuts.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("remove nftables table %s: %w", cuts.Name(), cerr)
			}
		}()
	}
	r.queues = queueProbe{amqpURL: l.Info().Broker.AMQP, m: r.env.Management, sinks: cfg.System.InspectionQueues, peek: holdingsPeek,
		unacked: unackedWindow}

	wctx, stopWatch := context.WithCancel(ctx)
	w := newWatcher(r.env.Management, cfg.PollEvery, r.log)
	w.sinks = cfg.System.InspectionQueues
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); w.run(wctx) }()
	defer func() { stopWatch(); <-watchDone }()

	r.setPhase("steady state before")
	var probes []history.Probe
	for _, p := range r.plan.SteadyState.Before {
		pr, done := r.runProbe(ctx, history.ProbeBefore, p)
		if !done {
			continue
		}
		probes = append(probes, pr)
		if !pr.OK {
			if ctx.Err() != nil {
				return nil, ErrInterrupted
			}
			return r.notStarted(probes, pr)
		}
	}

	steps, rollbacks, err := r.buildSteps()
	if err != nil {
		return nil, err
	}
	tl := newTimeline(steps, cfg.HealTimeout, r.log)
	if h := r.plan.Workload.Hold; h != nil {
		tl.gate(&h.Until)
	}
	tl.keyTo(&liveSource{dir: lab.Layout{Dir: l.RunDir()}.Traces(), every: spanTailEvery, counters: r.liveCounters(w),
		log: r.log}, r.plan.End+cfg.WhenGrace, cfg.PollEvery)
	tl.grace = cfg.WhenGrace
	r.mu.Lock()
	r.tl = tl
	r.mu.Unlock()
	r.setPhase("method")
	base := time.Now()
	r.log.Info("Method started", "faults", len(steps), "end", r.plan.End)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		recs, err := r.runWorkload(gctx)
		r.addRecords(recs)
		return err
	})
	g.Go(func() error {
		r.tl.run(gctx, base)
		return nil
	})
	werr := g.Wait()
	r.setPhase("rollbacks")
	if err := runRollbacks(ctx, rollbacks, cfg.HealTimeout, r.log); err != nil {
		r.log.Warn("Rollbacks failed", "err", err)
	}
	if ctx.Err() != nil {
		return nil, ErrInterrupted
	}
	if werr != nil {
		return nil, fmt.Errorf("workload: %w", werr)
	}
	methodEnd := base.Add(r.plan.End)

	r.setPhase("settling")
	settle := r.settle()
	if err := r.awaitQuiescence(ctx, settle); err != nil {
		r.log.Warn("Not quiescent; judging the run as it is", "after", settle, "err", err)
	}
	r.setPhase("steady state after")
	var deferred []spec.Probe
	for _, p := range r.plan.SteadyState.After {
		pr, done := r.runProbe(ctx, history.ProbeAfter, p)
		if !done {
			deferred = append(deferred, p)
			continue
		}
		probes = append(probes, pr)
	}
	for _, p := range r.plan.SteadyState.Before {
		if p.Probe == ProbeMinThroughput {
			deferred = append(deferred, p) // judged from the method's spans, so after it
		}
	}
	if slices.ContainsFunc(r.plan.SteadyState.After, func(p spec.Probe) bool { return p.Probe == ProbeEndToEnd }) {
		// The probe's flow may still be running: let it settle too before
		// the snapshot.
		if err := r.awaitQuiescence(ctx, settle); err != nil {
			r.log.Warn("Not quiescent after the probes", "err", err)
		}
	}
	if ctx.Err() != nil {
		return nil, ErrInterrupted
	}

	r.setPhase("collecting")
	snapAt := time.Now()
	var snap history.Snapshot
	if r.cfg.System.Snapshot != nil {
		sys, serr := r.cfg.System.Snapshot(ctx, r.dbs())
		if serr != nil {
			r.log.Warn("Snapshot incomplete", "err", serr)
		}
		if sys != nil {
			snap.System = history.NewSystemSnapshot(sys)
		}
	}
	rawDL, derr := peekDeadLetters(ctx, r.env.Management)
	if derr != nil {
		r.log.Warn("Dead letters not read", "err", derr)
	}
	// Where every message not consumed is now (TF10 and the stuck/lost
	// classification), read while the consumers are still connected.
	holdings := r.queues.readHoldings(ctx, r.cfg.PollEvery, r.serviceNames(), w.unackedSince())
	if holdings.Error != "" {
		r.log.Warn("Broker holdings incomplete", "err", holdings.Error)
	}
	stopWatch()
	<-watchDone
	lastErr := r.readLastConnections(ctx, w)
	if lastErr != nil {
		r.log.Warn("The broker's last connections not read", "err", lastErr)
	}
	counters := r.env.Evidence.Counters()
	maps.Copy(counters, w.counters(r.tl.FirstStart()))
	if n, ok := counters["connections.reopened"]; ok && n == 0 && lastErr != nil {
		// A connection opened since the watcher's last poll may be missing:
		// zero is not known.
		r.log.Warn("connections.reopened not recorded from the broker: none seen, and its last connections were not read", "err", lastErr)
		delete(counters, "connections.reopened")
	}
	if _, ok := counters["connections.reopened"]; !ok {
		// No management API, or its count unknown: count the services' own
		// reconnects instead.
		if n, err := clientReconnects(ctx, l.Status(ctx)); err == nil {
			counters["connections.reopened"] = n
		} else {
			r.log.Warn("connections.reopened not recorded: not read from the broker and the services' reconnects unknown", "err", err)
		}
	}
	if err := stopLab(); err != nil {
		r.log.Warn("Stopping the lab", "err", err)
	}
	events, spanStats, err := ReadSpans(lab.Layout{Dir: l.RunDir()}.Traces())
	if err != nil {
		return nil, err
	}
	for _, p := range deferred {
		probes = append(probes, throughputProbe(history.ProbeAfter, p, events, base, methodEnd))
	}
	snap.At = snapAt
	snap.DeadLetters = attributeDeadLetters(rawDL, events)
	snap.Holdings = holdings
	h := &history.History{Meta: r.plan.Meta(), Events: events, Faults: r.tl.Faults(), Snapshot: snap,
		Counters: counters, Probes: probes}
	h.Meta.Start, h.Meta.End = base, snapAt
	h.Meta.Limits.MaxAttempts = r.maxAttempts()
	if b := l.Info().Broker; len(b.Nodes) > 0 {
		h.Meta.Broker = &history.BrokerMeta{Nodes: len(b.Nodes), QueueType: b.QueueType, PartitionHandling: b.PartitionHandling}
	}
	r.mu.Lock()
	h.Records = slices.Clone(r.records)
	r.mu.Unlock()
	v := check.Evaluate(h, r.cfg.System.Vocabulary.Invariants...)
	counts := r.counts(h)
	r.setPhase("writing the report")
	if err := writeRunFiles(cfg.Dir, h, v, counts, cfg.ConsoleURL); err != nil {
		return nil, err
	}
	r.log.Info("Run judged", "verdict", v.Outcome, "exit", v.ExitCode, "reason", v.Reason, "spans", len(events),
		"torn_lines", spanStats.Torn, "bad_lines", spanStats.Bad)
	r.setPhase("done: " + string(v.Outcome))
	return &Result{Dir: cfg.Dir, History: h, Verdict: v, Counts: counts, Spans: spanStats}, nil
}

// notStarted records a run whose steady state failed before the method: a
// history of the probes run so far (and the end-to-end probe's submission,
// if any) without method, spans or snapshot, judged INCONCLUSIVE ("not
// started") and written to the run directory like any run. It returns the
// Result together with an error wrapping ErrSteadyState that names the
// failed probe.
func (r *runner) notStarted(probes []history.Probe, failed history.Probe) (*Result, error) {
	h := &history.History{Meta: r.plan.Meta(), Probes: probes}
	h.Meta.Start, h.Meta.End = probes[0].At, time.Now()
	h.Meta.Limits.MaxAttempts = r.maxAttempts()
	r.mu.Lock()
	h.Records = slices.Clone(r.records)
	r.mu.Unlock()
	v := check.Evaluate(h, r.cfg.System.Vocabulary.Invariants...)
	counts := r.counts(h)
	r.setPhase("writing the report")
	if err := writeRunFiles(r.cfg.Dir, h, v, counts, r.cfg.ConsoleURL); err != nil {
		return nil, err
	}
	r.log.Warn("Steady state not met before the method; the run did not start", "probe", failed.Name, "detail", failed.Detail)
	r.setPhase("not started")
	return &Result{Dir: r.cfg.Dir, History: h, Verdict: v, Counts: counts}, fmt.Errorf("%w: %s: %s", ErrSteadyState, failed.Name, failed.Detail)
}

// serviceSpecs gives each service its unprotect list from the plan and the
// scenario-mode settings.
func (r *runner) serviceSpecs(in []lab.ServiceSpec) []lab.ServiceSpec {
	out := make([]lab.ServiceSpec, len(in))
	for i, s := range in {
		s.Settings = maps.Clone(s.Settings)
		if s.Settings == nil {
			s.Settings = map[string]string{}
		}
		maps.Copy(s.Settings, ScenarioSettings)
		maps.Copy(s.Settings, r.cfg.Settings)
		s.Unprotect = slices.Clone(s.Unprotect)
		for _, prot := range r.plan.ProtectionNames() {
			if on, ok := r.plan.Protections[prot][s.Name]; ok && !on && !slices.Contains(s.Unprotect, prot) {
				s.Unprotect = append(s.Unprotect, prot)
			}
		}
		out[i] = s
	}
	return out
}

// maxAttempts is the handlings a message gets before dead-lettering.
func (r *runner) maxAttempts() int {
	if v, ok := r.cfg.Settings["max-attempts"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return defaultMaxAttempts
}

// inVHost keeps the connections of the management client's vhost (all when
// it is unscoped).
func inVHost(conns []anomalies.Connection, m *anomalies.Management) []anomalies.Connection {
	if m == nil || m.VHost == "" {
		return conns
	}
	out := conns[:0]
	for _, c := range conns {
		if c.VHost == m.VHost {
			out = append(out, c)
		}
	}
	return out
}

// readLastConnections reads the broker's connections once more before the
// lab stops (see lastConnections); nil when the broker has no management
// API, whose counters come from the services instead.
func (r *runner) readLastConnections(ctx context.Context, w *watcher) error {
	if r.env.Management == nil {
		return nil
	}
	nodes := r.lab.Broker().Nodes()
	lctx, cancel := context.WithTimeout(ctx, lastConnectionsTimeout)
	defer cancel()
	start := time.Now()
	err := lastConnections(lctx, w, nodes, nodeAPIs(r.env.Management, nodes), r.cfg.PollEvery, dialMarker)
	r.log.Debug("Last connections read", "nodes", len(nodes), "took", time.Since(start).Round(time.Millisecond), "err", err)
	return err
}

// buildEnv describes the running lab to the fault executors.
func (r *runner) buildEnv(l *lab.Lab) *anomalies.Env {
	info := l.Info()
	env := &anomalies.Env{Toxiproxy: info.Toxiproxy, LabAPI: info.LabAPI, Processes: l.Supervisor(), Evidence: anomalies.NewEvidence(),
		Log: r.log.With("component", "anomalies")}
	for _, id := range info.IDs() {
		s := info.Services[id]
		env.Instances = append(env.Instances, anomalies.Instance{Service: s.Service, ID: id, Number: s.Instance, HTTP: s.HTTP, Proxy: s.Proxy})
	}
	if pb, ok := l.Broker().(*broker.PrivateBroker); ok {
		for _, n := range pb.RabbitNodes() {
			env.Nodes = append(env.Nodes, n)
		}
		if nodes := pb.RabbitNodes(); len(nodes) > 1 {
			for _, n := range nodes {
				env.ClusterNodes = append(env.ClusterNodes, n)
			}
			env.Cuts = netfilter.NewLazy(netfilter.TableName(os.Getpid(), filepath.Base(info.RunDir)))
		}
	}
	if info.Broker.Management != "" {
		// Scoped to the lab's vhost: on a shared broker the runner must
		// neither count nor close another run's connections and queues.
		m := &anomalies.Management{URL: info.Broker.Management, VHost: vhostOf(info.Broker.AMQP)}
		if u, err := url.Parse(info.Broker.AMQP); err == nil && u.User != nil {
			m.User = u.User.Username()
			m.Password, _ = u.User.Password()
		}
		env.Management = m
	}
	return env
}

// buildSteps turns the plan's timeline and rollbacks into executors.
func (r *runner) buildSteps() ([]step, []anomalies.Anomaly, error) {
	var steps []step
	for _, s := range r.plan.Timeline {
		a, err := anomalyOf(s.Action, r.env)
		if err != nil {
			return nil, nil, fmt.Errorf("step %s: %w", s.Name, err)
		}
		steps = append(steps, step{sched: s, anomaly: a})
	}
	var rollbacks []anomalies.Anomaly
	for i, s := range r.plan.Rollbacks {
		a, err := anomalyOf(s.Action, r.env)
		if err != nil {
			return nil, nil, fmt.Errorf("rollback %d: %w", i+1, err)
		}
		rollbacks = append(rollbacks, a)
	}
	return steps, rollbacks, nil
}

// endpoints are the HTTP base URLs of the lab's service instances.
func (r *runner) endpoints() sut.Endpoints {
	info := r.lab.Info()
	eps := sut.Endpoints{}
	for _, id := range info.IDs() {
		if s := info.Services[id]; s.HTTP != "" {
			eps[s.Service] = append(eps[s.Service], s.HTTP)
		}
	}
	return eps
}

// loadEnv is what the system's workload driver or probe gets.
func (r *runner) loadEnv(rng *rand.Rand) sut.LoadEnv {
	return sut.LoadEnv{Endpoints: r.endpoints(), Rand: rng, Settle: r.settle(), MethodEnd: r.plan.End,
		Quiet: r.quiet, Log: r.log.With("component", "workload")}
}

// settle is the plan's settle, or the default.
func (r *runner) settle() time.Duration {
	if s := r.plan.Workload.Settle.D(); s > 0 {
		return s
	}
	return spec.DefaultSettle.D()
}

// runWorkload runs the plan's workload block through the system's driver.
func (r *runner) runWorkload(ctx context.Context) ([]history.Record, error) {
	if r.cfg.System.Workload == nil || r.plan.Workload.Config == nil {
		return nil, nil
	}
	rng := rand.New(rand.NewPCG(uint64(r.plan.Seed), 0x776f726b6c6f6164)) // "workload"
	env := r.loadEnv(rng)
	env.Progress = func(status string) {
		r.mu.Lock()
		r.progress = status
		r.mu.Unlock()
	}
	// The live counters workload.submitted and .accepted of when conditions.
	env.Count = func(submitted, accepted int) {
		r.mu.Lock()
		r.submitted, r.accepted = submitted, accepted
		r.mu.Unlock()
	}
	env.CountEvery = min(r.cfg.PollEvery, r.cfg.ProgressEvery)
	if h := r.plan.Workload.Hold; h != nil {
		env.Hold = func(ctx context.Context, next int) error {
			if next != h.After {
				return nil
			}
			r.log.Info("Workload holds", "after", h.After, "until", h.Until.String())
			err := r.tl.hold(ctx, &h.Until)
			r.log.Info("Workload resumes", "err", err)
			return err
		}
		env.Await = func(ctx context.Context) error { return r.tl.hold(ctx, &h.Until) }
	}
	return r.cfg.System.Workload(ctx, r.plan.Workload.Config, env)
}

func (r *runner) addRecords(recs []history.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, recs...)
}

// serviceNames lists the lab's services.
func (r *runner) serviceNames() []string {
	info := r.lab.Info()
	var out []string
	for _, id := range info.IDs() {
		if s := info.Services[id].Service; !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// dbs lists every service instance's database.
func (r *runner) dbs() []DB {
	return labDBs(r.lab.Info())
}

// labDBs lists each database once: the instances of a service share their
// service's database, and reading it per instance would count its rows
// twice.
func labDBs(info lab.Info) []DB {
	var out []DB
	seen := map[string]bool{}
	for _, id := range info.IDs() {
		s := info.Services[id]
		if s.DB != "" && !seen[s.DB] {
			seen[s.DB] = true
			out = append(out, DB{Service: s.Service, Instance: id, Path: s.DB})
		}
	}
	return out
}

// awaitQuiescence waits until every service queue is drained and every
// outbox relayed, three polls in a row, or until wait ends.
func (r *runner) awaitQuiescence(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(r.cfg.PollEvery)
	defer tick.Stop()
	calm := 0
	var last error
	for {
		last = r.quiet(ctx)
		if last == nil {
			calm++
			if calm >= 3 {
				return nil
			}
		} else {
			calm = 0
		}
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
		}
	}
}

func (r *runner) quiet(ctx context.Context) error {
	pending, err := r.queues.pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return errors.New(describeQueues(pending))
	}
	n, err := unsentOutbox(ctx, r.dbs())
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d outbox rows not relayed", n)
	}
	return nil
}

func (r *runner) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
	r.printProgress()
}

// startProgress prints a progress line every ProgressEvery until stopped.
func (r *runner) startProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(r.cfg.ProgressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				r.printProgress()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r *runner) printProgress() {
	if r.cfg.Progress == nil {
		return
	}
	r.mu.Lock()
	phase, p, tl := r.phase, r.progress, r.tl
	r.mu.Unlock()
	line := fmt.Sprintf("%6.1fs  %-20s", time.Since(r.begin).Seconds(), phase)
	if tl != nil {
		active := tl.Active()
		faults := "none"
		if len(active) > 0 {
			faults = fmt.Sprint(active)
		}
		line += "  faults: " + faults
		if waiting := tl.Waiting(); len(waiting) > 0 {
			line += "  waiting: " + strings.Join(waiting, ", ")
		}
	}
	if p != "" {
		line += "  " + p
	}
	r.printMu.Lock()
	defer r.printMu.Unlock()
	fmt.Fprintln(r.cfg.Progress, line)
}

// RunDir creates runs/<time>-<scenario>[-control] under root.
func RunDir(root string, p *spec.Plan, now time.Time) (string, error) {
	name := p.Scenario
	if p.Control {
		name += "-control"
	}
	return lab.NewRunDir(root, name, now)
}

// File names written into a run directory besides the history.
const (
	JournalFile = "journal.json"
	JUnitFile   = "junit.xml"
	ReportFile  = "report.html"
)

// WriteRunFiles writes the history (history.json, events.jsonl), the
// journal, the JUnit file and the HTML report into dir; counts are the
// system's.
func WriteRunFiles(dir string, h *history.History, v check.Verdict, counts ...history.Count) error {
	return writeRunFiles(dir, h, v, counts, "")
}

func createFile(dir, name string, write func(io.Writer) error) error {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}
