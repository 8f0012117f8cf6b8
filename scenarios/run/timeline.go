package run

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// step is one scheduled fault, ready to run.
type step struct {
	sched   spec.Scheduled
	anomaly anomalies.Anomaly
}

// timeline runs the faults of a plan against one base time: each step waits
// for its offset (and, with a when, for its event), injects, holds for its
// duration counted from when Inject returned (the fault in force) and
// heals. A heal runs in a
// deferred call on a context that survives the run's cancellation, so
// neither Ctrl-C nor an error elsewhere leaves a fault installed.
type timeline struct {
	steps       []step
	healTimeout time.Duration
	log         *slog.Logger
	// src, giveUp and poll serve the when steps (see keyTo); grace, when
	// set, extends the give-up time to grace after the timeline's last
	// activity (see giveUpAt).
	src    events
	giveUp time.Duration
	poll   time.Duration
	grace  time.Duration

	// gates are the conditions the workload may hold on (gate).
	gates []*spec.When

	mu           sync.Mutex
	faults       []history.Fault          // one per step, in step order
	installed    map[int]anomalies.Healer // the healers of the steps injected and not yet healed
	active       map[string]bool          // step names injected and not yet healed
	waiting      map[int]bool             // steps waiting for their when
	live         liveState
	base         time.Time  // when run began
	lastActive   time.Time  // the last step fired, injected or healed, or the hold released
	injecting    int        // injections under way
	holding      *spec.When // the workload's hold while it waits
	holders      int        // the workload's waits on holding under way
	counterWaits int        // counter conditions being waited for
}

func newTimeline(steps []step, healTimeout time.Duration, log *slog.Logger) *timeline {
	t := &timeline{steps: steps, healTimeout: healTimeout, log: log, active: map[string]bool{}, waiting: map[int]bool{},
		faults: make([]history.Fault, len(steps)), installed: map[int]anomalies.Healer{}}
	for i, s := range steps {
		t.faults[i] = FaultOf(s.sched.Name, s.sched.Action, s.sched.At)
		if s.sched.When != nil {
			t.faults[i].When = s.sched.When.String()
		}
		if s.sched.Until != nil {
			t.faults[i].Until = s.sched.Until.String()
		}
	}
	t.live = newLiveState()
	return t
}

// keyTo gives the when steps their event source: spans and counters come
// from src (counters polled every poll while a counter step waits), and a
// step whose event has not come giveUp after the base time is abandoned.
func (t *timeline) keyTo(src events, giveUp, poll time.Duration) {
	t.src, t.giveUp, t.poll = src, giveUp, poll
}

// gate registers a condition the workload will hold on (see hold), so that
// the live stream feeds it; call before run.
func (t *timeline) gate(w *spec.When) { t.gates = append(t.gates, w) }

// run executes every step concurrently and returns when all are healed (or
// never started because ctx ended). It never returns early on a failed step:
// a fault that failed to inject is recorded and the others go on.
func (t *timeline) run(ctx context.Context, base time.Time) {
	t.mu.Lock()
	t.base = base
	t.mu.Unlock()
	lctx, stopListening := context.WithCancel(ctx)
	var listeners sync.WaitGroup
	t.listen(lctx, base, &listeners)
	var wg sync.WaitGroup
	for i := range t.steps {
		wg.Go(func() { t.runStep(ctx, base, i) })
	}
	wg.Wait()
	stopListening()
	listeners.Wait()
}

func (t *timeline) runStep(ctx context.Context, base time.Time, i int) {
	s := t.steps[i]
	if err := sleepUntil(ctx, base.Add(s.sched.At)); err != nil {
		t.record(i, func(f *history.Fault) { f.Error = "not started: " + err.Error() })
		return
	}
	if s.sched.When != nil {
		if err := t.await(ctx, base, i); err != nil {
			t.record(i, func(f *history.Fault) {
				f.Error = err.Error()
				f.NeverFired = errors.Is(err, errNeverFired)
			})
			if errors.Is(err, errNeverFired) {
				t.log.Warn("Step never fired", "anomaly", s.sched.Name, "when", s.sched.When.String())
			}
			return
		}
	}
	started := time.Now()
	t.mu.Lock()
	t.injecting++
	t.lastActive = started
	t.mu.Unlock()
	healer, err := s.anomaly.Inject(ctx)
	t.mu.Lock()
	t.injecting--
	t.mu.Unlock()
	if r, ok := s.anomaly.(anomalies.Resolver); ok {
		t.record(i, func(f *history.Fault) { f.Params = withResolved(f.Params, r) })
	}
	if err != nil {
		t.log.Error("Injecting anomaly failed", "anomaly", s.sched.Name, "err", err)
		t.record(i, func(f *history.Fault) { f.Started, f.Error = started, err.Error() })
		return
	}
	// The fault is in force once Inject has returned (a broker alarm's
	// Inject waits until the broker reports it): its duration counts from
	// then, so a slow injection (a rabbitmqctl call that took 29 s on a
	// loaded machine) does not eat the time the fault was meant to last.
	inForce := time.Now()
	healAt := inForce.Add(s.sched.HealAt - s.sched.At)
	t.record(i, func(f *history.Fault) { f.Started, f.InForce = started, inForce })
	if healer == anomalies.Nothing || s.sched.HealAt == 0 {
		// Instantaneous: the fault window is the injection itself.
		t.record(i, func(f *history.Fault) { f.Healed = started })
		if healer != anomalies.Nothing {
			t.heal(ctx, i, healer) // a plan without a heal offset still leaves nothing behind
		}
		return
	}
	t.setActive(s.sched.Name, true)
	t.mu.Lock()
	t.installed[i] = healer
	t.mu.Unlock()
	defer t.heal(ctx, i, healer)
	if sleepUntil(ctx, healAt) != nil || s.sched.Until == nil {
		return
	}
	if err := t.awaitCond(ctx, base, s.sched.Until, started); errors.Is(err, errNeverFired) {
		t.record(i, func(f *history.Fault) { f.UntilNeverHeld = true })
		t.log.Warn("Step's until never held; healing it at the give-up time", "anomaly", s.sched.Name,
			"until", s.sched.Until.String(), "gave_up_after", t.giveUp)
	}
}

// withResolved adds what a Resolver chose when it was injected to a
// fault's parameters (a copy; the plan's stay as written).
func withResolved(params map[string]string, r anomalies.Resolver) map[string]string {
	res := r.Resolved()
	if len(res) == 0 {
		return params
	}
	out := maps.Clone(params)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, res)
	return out
}

// heal undoes step i on a context that outlives ctx's cancellation.
func (t *timeline) heal(ctx context.Context, i int, h anomalies.Healer) {
	hctx, cancel := anomalies.HealContext(ctx, anomalies.HealTimeoutOf(t.steps[i].anomaly, t.healTimeout))
	defer cancel()
	err := h.Heal(hctx)
	healed := time.Now()
	t.mu.Lock()
	delete(t.installed, i)
	t.mu.Unlock()
	t.setActive(t.steps[i].sched.Name, false)
	t.record(i, func(f *history.Fault) {
		f.Healed = healed
		if err != nil {
			f.HealError = err.Error()
		}
	})
	if err != nil {
		t.log.Error("Healing anomaly failed", "anomaly", t.steps[i].sched.Name, "err", err)
	}
}

// record edits step i's fault and wakes the steps waiting for a phase.
func (t *timeline) record(i int, fn func(*history.Fault)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.faults[i])
	if t.faults[i].Error == "" {
		t.lastActive = time.Now() // a failure or a give-up is no progress
	}
	t.live.notify()
}

// giveUpAt is when a condition still waited for is abandoned: giveUp after
// base, or, with a grace, grace after the timeline's last activity if that
// is later, and never while an injection is under way — a slow injection
// (a rabbitmqctl call that took 45 s) delays what is keyed to it, and must
// not make it "never fired" (t.mu held).
func (t *timeline) giveUpAt(base time.Time) time.Time {
	at := base.Add(t.giveUp)
	if t.grace > 0 && t.injecting > 0 {
		// Not while a step is being injected: its end (recorded, which
		// wakes the waiters) is activity.
		return time.Now().Add(t.grace)
	}
	if t.grace > 0 && !t.lastActive.IsZero() {
		if late := t.lastActive.Add(t.grace); late.After(at) {
			at = late
		}
	}
	return at
}

func (t *timeline) setActive(name string, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		t.active[name] = true
	} else {
		delete(t.active, name)
	}
}

// Active lists the faults installed now, sorted.
func (t *timeline) Active() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.active))
	for n := range t.active {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Faults returns the faults as executed, in plan order.
func (t *timeline) Faults() []history.Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.faults)
}

// firedNow sums how often the installed faults that can tell (the in-app
// anomalies) have fired so far.
func (t *timeline) firedNow(ctx context.Context) float64 {
	t.mu.Lock()
	var live []anomalies.FiredCounter
	for i, s := range t.steps {
		if fc, ok := s.anomaly.(anomalies.FiredCounter); ok && t.faults[i].Applied() && t.faults[i].Healed.IsZero() {
			live = append(live, fc)
		}
	}
	t.mu.Unlock()
	var n float64
	for _, fc := range live {
		if v, err := fc.FiredSoFar(ctx); err == nil {
			n += float64(v)
		}
	}
	return n
}

// evidenceNow sums the evidence counters the installed faults that can
// tell before their heal (anomalies.LiveEvidence: the message faults) have
// earned so far. A fault whose evidence cannot be read now is left out.
func (t *timeline) evidenceNow(ctx context.Context) map[string]float64 {
	t.mu.Lock()
	var live []anomalies.LiveEvidence
	for _, h := range t.installed {
		if le, ok := h.(anomalies.LiveEvidence); ok {
			live = append(live, le)
		}
	}
	t.mu.Unlock()
	out := map[string]float64{}
	for _, le := range live {
		got, err := le.EvidenceSoFar(ctx)
		if err != nil {
			t.log.Debug("Reading the evidence of an installed fault", "err", err)
			continue
		}
		for c, v := range got {
			out[c] += v
		}
	}
	return out
}

// FirstStart is when the first fault was injected (zero if none was).
func (t *timeline) FirstStart() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var first time.Time
	for _, f := range t.faults {
		if !f.Started.IsZero() && (first.IsZero() || f.Started.Before(first)) {
			first = f.Started
		}
	}
	return first
}

// sleepUntil waits until at or until ctx ends.
func sleepUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// runRollbacks performs the plan's rollbacks once each, on a context that
// survives cancellation. A rollback is meant to be instant (start the broker,
// resume a process); one that installs something is healed at once, so the
// rollbacks never leave a fault behind.
func runRollbacks(ctx context.Context, rollbacks []anomalies.Anomaly, timeout time.Duration, log *slog.Logger) error {
	var errs []error
	for _, a := range rollbacks {
		rctx, cancel := anomalies.HealContext(ctx, timeout)
		h, err := a.Inject(rctx)
		if err == nil && h != anomalies.Nothing {
			err = h.Heal(rctx)
		}
		cancel()
		if err != nil {
			log.Warn("Rollback failed", "anomaly", a.Name(), "err", err)
			errs = append(errs, err)
			continue
		}
		log.Info("Rollback done", "anomaly", a.Name())
	}
	return errors.Join(errs...)
}
