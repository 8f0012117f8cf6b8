package run

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// fakeAnomaly records when it was injected and healed, on the bubble's clock.
type fakeAnomaly struct {
	name      string
	instant   bool
	injectErr error
	healErr   error
	// injectTakes is how long Inject takes (a slow rabbitmqctl call).
	injectTakes time.Duration

	mu                 sync.Mutex
	injectedAt, healAt time.Duration
	heals, injected    int
	healCtxErr         error // the heal context's error when Heal ran
	base               time.Time
}

func (f *fakeAnomaly) Name() string { return f.name }

func (f *fakeAnomaly) Inject(ctx context.Context) (anomalies.Healer, error) {
	if f.injectTakes > 0 {
		_ = sleepUntil(ctx, time.Now().Add(f.injectTakes))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.injectErr != nil {
		return nil, f.injectErr
	}
	f.injected++
	f.injectedAt = time.Since(f.base)
	if f.instant {
		return anomalies.Nothing, nil
	}
	return anomalies.HealFunc(func(ctx context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.heals++
		f.healAt = time.Since(f.base)
		f.healCtxErr = ctx.Err()
		return f.healErr
	}), nil
}

func sched(name string, at, healAt time.Duration) spec.Scheduled {
	return spec.Scheduled{Name: name, At: at, HealAt: healAt, Action: &spec.OutageAction{Link: "tickets"}}
}

func TestTimelineInjectsAndHealsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		a := &fakeAnomaly{name: "a", base: base}
		b := &fakeAnomaly{name: "b", base: base, instant: true}
		c := &fakeAnomaly{name: "c", base: base, injectErr: errors.New("no such link")}
		d := &fakeAnomaly{name: "d", base: base, healErr: errors.New("proxy gone")}
		tl := newTimeline([]step{
			{sched("a", 2*time.Second, 5*time.Second), a},
			{spec.Scheduled{Name: "b", At: 3 * time.Second, Action: &spec.BrokerAction{Op: "close-connections"}}, b},
			{sched("c", time.Second, 4*time.Second), c},
			{sched("d", 1*time.Second, 2*time.Second), d},
		}, time.Second, slog.New(slog.DiscardHandler))
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if got := tl.Active(); !slices.Equal(got, []string{"a"}) {
			t.Errorf("active at 2.5s: %v", got)
		}
		<-done
		if a.injectedAt != 2*time.Second || a.healAt != 5*time.Second || a.heals != 1 {
			t.Errorf("a injected %v healed %v (%d heals)", a.injectedAt, a.healAt, a.heals)
		}
		if b.injectedAt != 3*time.Second {
			t.Errorf("b injected at %v", b.injectedAt)
		}
		fs := tl.Faults()
		byName := map[string]history.Fault{}
		for _, f := range fs {
			byName[f.Name] = f
		}
		if f := byName["a"]; !f.Applied() || f.Healed.Sub(f.Started) != 3*time.Second || f.Type != "outage" || f.Op != "link-down" {
			t.Errorf("a recorded %+v", f)
		}
		if f := byName["b"]; !f.Healed.Equal(f.Started) || f.Started.IsZero() || f.Op != "close-connections" {
			t.Errorf("instant b recorded %+v (want Healed = Started)", f)
		}
		if f := byName["c"]; f.Applied() || f.Error != "no such link" || !f.Healed.IsZero() {
			t.Errorf("failed c recorded %+v", f)
		}
		if f := byName["d"]; f.HealError != "proxy gone" || f.Healed.IsZero() {
			t.Errorf("d's heal error recorded as %+v", f)
		}
		if !tl.FirstStart().Equal(base.Add(time.Second)) {
			t.Errorf("first start %v after base", tl.FirstStart().Sub(base))
		}
		if len(tl.Active()) != 0 {
			t.Errorf("still active: %v", tl.Active())
		}
	})
}

func TestTimelineHealsOnCancelWithALiveContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		long := &fakeAnomaly{name: "long", base: base}
		later := &fakeAnomaly{name: "later", base: base}
		ctx, cancel := context.WithCancel(t.Context())
		tl := newTimeline([]step{
			{sched("long", time.Second, time.Minute), long},
			{sched("later", 10*time.Second, 20*time.Second), later},
		}, time.Second, slog.New(slog.DiscardHandler))
		done := make(chan struct{})
		go func() { tl.run(ctx, base); close(done) }()
		time.Sleep(3 * time.Second)
		cancel() // Ctrl-C while "long" is installed
		<-done
		if long.heals != 1 || long.healAt != 3*time.Second {
			t.Fatalf("long healed %d times at %v, want once at the cancel", long.heals, long.healAt)
		}
		if long.healCtxErr != nil {
			t.Errorf("heal ran on a cancelled context: %v", long.healCtxErr)
		}
		if later.injected != 0 || later.heals != 0 {
			t.Errorf("a step due after the cancel ran: injected %v, healed %d", later.injectedAt, later.heals)
		}
		for _, f := range tl.Faults() {
			if f.Name == "later" && (f.Applied() || f.Error == "") {
				t.Errorf("later recorded %+v", f)
			}
		}
	})
}

func TestRollbacksRunOnACancelledContextAndHealWhatTheyInstall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		resume := &fakeAnomaly{name: "resume", base: base, instant: true}
		odd := &fakeAnomaly{name: "odd", base: base}
		failing := &fakeAnomaly{name: "failing", base: base, injectErr: errors.New("nope")}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := runRollbacks(ctx, []anomalies.Anomaly{resume, failing, odd}, time.Second, slog.New(slog.DiscardHandler))
		if err == nil || err.Error() != "nope" {
			t.Errorf("err %v", err)
		}
		if odd.heals != 1 {
			t.Errorf("a rollback that installed something was healed %d times", odd.heals)
		}
		if resume.injected != 1 || resume.heals != 0 || odd.injected != 1 {
			t.Errorf("rollbacks injected %d/%d times, resume healed %d times", resume.injected, odd.injected, resume.heals)
		}
	})
}

// resolvingAnomaly picks its target when injected, like a cluster step on
// the leader of a queue.
type resolvingAnomaly struct {
	fakeAnomaly
	node string
}

func (r *resolvingAnomaly) Resolved() map[string]string {
	if r.injected == 0 {
		return nil
	}
	return map[string]string{"node": r.node, "leader": "rabbit-" + r.node + "@n"}
}

func TestTimelineRecordsWhatAStepResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		r := &resolvingAnomaly{fakeAnomaly: fakeAnomaly{name: "leader", base: base}, node: "3"}
		act := &spec.ClusterAction{Op: "isolate", LeaderOf: "sla-ticket-changes"}
		tl := newTimeline([]step{{spec.Scheduled{Name: "leader", At: time.Second, HealAt: 2 * time.Second, Action: act}, r}},
			time.Second, slog.New(slog.DiscardHandler))
		if p := tl.Faults()[0].Params; p["node"] != "" || p["leaderOf"] != "sla-ticket-changes" {
			t.Fatalf("params before the step fired: %v", p)
		}
		tl.run(t.Context(), base)
		p := tl.Faults()[0].Params
		if p["node"] != "3" || p["leader"] != "rabbit-3@n" || p["leaderOf"] != "sla-ticket-changes" || p["op"] != "isolate" {
			t.Errorf("params recorded %v, want the plan's plus node 3 and its name", p)
		}
		if got := act.Params(); got["node"] != "" {
			t.Errorf("the plan's action changed: %v", got)
		}
	})
}

// A step's duration counts from when its injection returned (the fault in
// force), not from when it fired: an alarm whose rabbitmqctl call takes
// 29 s still lasts its 10 s, and the step keyed to its `started` and the
// workload's holds wait for it in force. The history keeps both times.
func TestTimeline_DurationCountsFromTheFaultInForce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		alarm := &fakeAnomaly{name: "alarm", base: base, injectTakes: 29 * time.Second}
		after := &fakeAnomaly{name: "after", base: base}
		tl := newTimeline([]step{
			{sched("alarm", time.Second, 11*time.Second), alarm},
			{keyed("after", 0, 2*time.Second, spec.When{Step: "alarm", Phase: spec.PhaseStarted}), after},
		}, time.Second, slog.New(slog.DiscardHandler))
		gate := &spec.When{Step: "alarm", Phase: spec.PhaseStarted}
		tl.gate(gate)
		tl.keyTo(newFakeEvents(), 120*time.Second, 500*time.Millisecond)
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()

		// Several holds at once (the desk's, one per ticket) all wait for
		// the alarm in force; the hold shows as waiting until the last ends.
		released := make(chan time.Duration, 3)
		for range 3 {
			go func() {
				if err := tl.hold(t.Context(), gate); err != nil {
					t.Errorf("hold: %v", err)
				}
				released <- time.Since(base)
			}()
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if w := tl.Waiting(); !slices.Contains(w, "workload (hold until alarm started)") {
			t.Errorf("waiting at 20s: %v", w)
		}
		for range 3 {
			if at := <-released; at != 30*time.Second {
				t.Errorf("a hold released at %v, want 30s (the alarm in force)", at)
			}
		}
		synctest.Wait()
		if w := tl.Waiting(); slices.Contains(w, "workload (hold until alarm started)") {
			t.Errorf("still waiting on the hold after its release: %v", w)
		}
		<-done
		if alarm.injectedAt != 30*time.Second || alarm.healAt != 40*time.Second {
			t.Errorf("alarm in force at %v, healed at %v; want 30s and 40s (10s in force)", alarm.injectedAt, alarm.healAt)
		}
		if after.injectedAt != 30*time.Second || after.healAt != 32*time.Second {
			t.Errorf("after injected at %v, healed at %v; want 30s and 32s", after.injectedAt, after.healAt)
		}
		f := tl.Faults()[0]
		if f.Started.Sub(base) != time.Second || f.InForce.Sub(base) != 30*time.Second || f.Healed.Sub(base) != 40*time.Second {
			t.Errorf("alarm recorded started %v, in force %v, healed %v after base; want 1s, 30s, 40s",
				f.Started.Sub(base), f.InForce.Sub(base), f.Healed.Sub(base))
		}
	})
}
