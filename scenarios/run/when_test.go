package run

import (
	"context"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// fakeEvents is an event stream the test drives: spans it sends, counters
// it sets.
type fakeEvents struct {
	spans chan history.Event

	mu       sync.Mutex
	counters map[string]float64
	asked    []string
}

func newFakeEvents() *fakeEvents {
	return &fakeEvents{spans: make(chan history.Event), counters: map[string]float64{}}
}

func (f *fakeEvents) Spans(ctx context.Context) <-chan history.Event {
	out := make(chan history.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-f.spans:
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func (f *fakeEvents) Counters(_ context.Context, names []string) map[string]float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = names
	return maps.Clone(f.counters)
}

func (f *fakeEvents) set(name string, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counters[name] = v
}

func handled(service, messageType, id string) history.Event {
	now := time.Now()
	return history.Event{Kind: history.KindProcess, Service: service, MessageType: messageType, MessageID: id,
		Start: now.Add(-10 * time.Millisecond), End: now}
}

func keyed(name string, at, dur time.Duration, w spec.When) spec.Scheduled {
	s := sched(name, at, at+dur)
	s.When = &w
	return s
}

func TestTimeline_WhenStepsFireOnTheirEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		src := newFakeEvents()
		an := map[string]*fakeAnomaly{}
		for _, n := range []string{"kill", "after-kill", "late", "pending", "published", "delayed"} {
			an[n] = &fakeAnomaly{name: n, base: base}
		}
		qualified := spec.When{Service: "sla", MessageType: "TicketQualified", Event: spec.EventHandled, Count: 3}
		tl := newTimeline([]step{
			{keyed("kill", 0, 2*time.Second, qualified), an["kill"]},
			{keyed("after-kill", 0, time.Second, spec.When{Step: "kill", Phase: spec.PhaseHealed}), an["after-kill"]},
			{keyed("late", 5*time.Second, time.Second, spec.When{MessageType: "TicketQualified", Event: spec.EventHandled, Count: 1}), an["late"]},
			{keyed("pending", 0, time.Second, spec.When{Counter: "outbox.pending", Op: ">", Value: 3}), an["pending"]},
			{keyed("delayed", 0, time.Second, spec.When{Step: "kill", Phase: spec.PhaseStarted, Delay: spec.Duration(1500 * time.Millisecond)}), an["delayed"]},
			{keyed("published", 0, time.Second, spec.When{Service: "sla", MessageType: "TicketQualified", Event: spec.EventPublished, Count: 1}), an["published"]},
		}, time.Second, slog.New(slog.DiscardHandler))
		tl.keyTo(src, 20*time.Second, 500*time.Millisecond)
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()

		src.spans <- history.Event{Kind: history.KindProcess, Service: "sla", MessageType: "TicketQualified",
			MessageID: "before", End: base.Add(-time.Second)} // ended before the method: not counted
		time.Sleep(time.Second)
		src.spans <- handled("sla", "TicketQualified", "m1")
		src.spans <- handled("tickets", "TicketQualified", "m2") // another service
		time.Sleep(time.Second)
		src.spans <- handled("sla", "TicketQualified", "m2")
		src.spans <- handled("sla", "TicketQualified", "m2") // a redelivery: the same message
		time.Sleep(750 * time.Millisecond)
		src.set("outbox.pending", 5)
		time.Sleep(250 * time.Millisecond)
		synctest.Wait()
		if w := tl.Waiting(); !slices.Contains(w, "kill (when sla handled TicketQualified ≥3)") || slices.ContainsFunc(w, func(s string) bool { return strings.HasPrefix(s, "late") }) {
			t.Errorf("waiting at 3s: %v (late waits for its at, not its event)", w)
		}
		time.Sleep(time.Second)
		src.spans <- handled("sla", "TicketQualified", "m3") // the third distinct one, at 4s
		<-done

		want := map[string][2]time.Duration{
			"kill":       {4 * time.Second, 6 * time.Second}, // on the 3rd message, healed 2s later
			"after-kill": {6 * time.Second, 7 * time.Second}, // when kill healed
			"late":       {5 * time.Second, 6 * time.Second}, // the event came at 1s: at its at
			"pending":    {3 * time.Second, 4 * time.Second}, // the first poll after the counter moved
			"delayed":    {5500 * time.Millisecond, 6500 * time.Millisecond},
		}
		for name, w := range want {
			if a := an[name]; a.injectedAt != w[0] || a.healAt != w[1] {
				t.Errorf("%s injected at %v, healed at %v; want %v, %v", name, a.injectedAt, a.healAt, w[0], w[1])
			}
		}
		if !slices.Equal(src.asked, []string{"outbox.pending"}) {
			t.Errorf("counters asked for %v", src.asked)
		}
		if a := an["published"]; a.injected != 0 {
			t.Errorf("published fired at %v on handlings alone", a.injectedAt)
		}
		for _, f := range tl.Faults() {
			switch {
			case f.Name == "published" && (!f.NeverFired || f.Applied() || !strings.Contains(f.Error, "never fired: when sla published TicketQualified ≥1")):
				t.Errorf("published recorded %+v", f)
			case f.Name != "published" && (!f.Applied() || f.NeverFired || f.When == ""):
				t.Errorf("%s recorded %+v", f.Name, f)
			}
		}
	})
}

func TestTimeline_WhenThatNeverFiresIsAbandonedAndTheRunInconclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		src := newFakeEvents()
		down := &fakeAnomaly{name: "broker-down", base: base}
		after := &fakeAnomaly{name: "after", base: base}
		onClock := &fakeAnomaly{name: "on-clock", base: base}
		tl := newTimeline([]step{
			{keyed("broker-down", time.Second, 4*time.Second, spec.When{Service: "sla", MessageType: "TicketQualified", Event: spec.EventHandled, Count: 5}), down},
			{keyed("after", 0, time.Second, spec.When{Step: "broker-down", Phase: spec.PhaseStarted}), after},
			{sched("on-clock", time.Second, 2*time.Second), onClock},
		}, time.Second, slog.New(slog.DiscardHandler))
		tl.keyTo(src, 12*time.Second, 500*time.Millisecond)
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()
		for i := range 4 { // one message short
			src.spans <- handled("sla", "TicketQualified", string(rune('a'+i)))
		}
		<-done
		if took := time.Since(base); took != 12*time.Second {
			t.Errorf("the timeline ended after %v, want at the give-up time 12s", took)
		}
		if down.injected != 0 || after.injected != 0 || onClock.injected != 1 {
			t.Fatalf("injected: broker-down %d, after %d, on-clock %d", down.injected, after.injected, onClock.injected)
		}
		if w := tl.Waiting(); len(w) != 0 {
			t.Errorf("still waiting: %v", w)
		}
		h := synth.New(synth.Config{Seed: 2, Inquiries: 6}).History
		h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
		h.Faults = tl.Faults()
		v := check.Evaluate(h, invariants.All...)
		if v.Outcome != check.OutcomeInconclusive || v.ExitCode != check.ExitInconclusive ||
			!strings.Contains(v.Reason, "broker-down (when sla handled TicketQualified ≥5)") ||
			!strings.Contains(v.Reason, "after (when broker-down started)") {
			t.Errorf("verdict %s (%d): %s", v.Outcome, v.ExitCode, v.Reason)
		}
	})
}

// A step with until heals once its condition holds after it fired (span
// counts counting from then), never before its duration; the workload's
// hold waits for a step's phase; one until that never holds heals the step
// at the give-up time.
func TestTimeline_UntilAndHoldWaitForTheirEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		src := newFakeEvents()
		alarm := &fakeAnomaly{name: "alarm", base: base}
		down := &fakeAnomaly{name: "down", base: base}
		held := &fakeAnomaly{name: "held", base: base}
		stuck := &fakeAnomaly{name: "stuck", base: base}
		alarmStep := keyed("alarm", 0, time.Second, spec.When{Service: "tickets", MessageType: "InquirySubmitted", Event: spec.EventHandled, Count: 1})
		alarmStep.Until = &spec.When{Step: "down", Phase: spec.PhaseHealed}
		heldStep := sched("held", 500*time.Millisecond, time.Second)
		heldStep.Until = &spec.When{Service: "sla", MessageType: "TicketQualified", Event: spec.EventHandled, Count: 1}
		stuckStep := sched("stuck", 0, time.Second)
		stuckStep.Until = &spec.When{Counter: "workload.accepted", Op: ">=", Value: 100}
		tl := newTimeline([]step{
			{alarmStep, alarm},
			{keyed("down", 0, 2*time.Second, spec.When{Counter: "workload.accepted", Op: ">=", Value: 20}), down},
			{heldStep, held},
			{stuckStep, stuck},
		}, time.Second, slog.New(slog.DiscardHandler))
		gate := &spec.When{Step: "alarm", Phase: spec.PhaseStarted}
		tl.gate(gate)
		tl.keyTo(src, 20*time.Second, 500*time.Millisecond)
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()

		released := make(chan time.Duration, 1)
		go func() {
			if err := tl.hold(t.Context(), gate); err != nil {
				t.Errorf("hold: %v", err)
			}
			released <- time.Since(base)
		}()
		// A TicketQualified handled before "held" fired does not count for
		// its until.
		src.spans <- handled("sla", "TicketQualified", "early")
		time.Sleep(time.Second)
		synctest.Wait()
		if w := tl.Waiting(); !slices.Contains(w, "workload (hold until alarm started)") {
			t.Errorf("waiting at 1s: %v", w)
		}
		src.spans <- handled("tickets", "InquirySubmitted", "i1") // alarm fires at 1s
		if at := <-released; at != time.Second {
			t.Errorf("the hold released at %v, want 1s (alarm started)", at)
		}
		time.Sleep(750 * time.Millisecond)
		src.set("workload.accepted", 20) // down fires at the poll of 2s, heals at 4s
		time.Sleep(1250 * time.Millisecond)
		src.spans <- handled("sla", "TicketQualified", "late") // held heals at 3s
		<-done

		want := map[string][2]time.Duration{
			"alarm": {time.Second, 4 * time.Second}, // its 1s duration is long over: until down healed
			"down":  {2 * time.Second, 4 * time.Second},
			"held":  {500 * time.Millisecond, 3 * time.Second}, // not on "early", handled before it fired
			"stuck": {0, 20 * time.Second},                     // the give-up time
		}
		for name, w := range want {
			a := map[string]*fakeAnomaly{"alarm": alarm, "down": down, "held": held, "stuck": stuck}[name]
			if a.injectedAt != w[0] || a.healAt != w[1] {
				t.Errorf("%s injected at %v, healed at %v; want %v, %v", name, a.injectedAt, a.healAt, w[0], w[1])
			}
		}
		// The history names each step's until, and the one that never held.
		wantUntil := map[string]string{"alarm": "down healed", "down": "", "held": "sla handled TicketQualified ≥1",
			"stuck": "workload.accepted >= 100"}
		for _, f := range tl.Faults() {
			if f.Until != wantUntil[f.Name] || f.UntilNeverHeld != (f.Name == "stuck") {
				t.Errorf("%s recorded until %q (never held %v), want %q", f.Name, f.Until, f.UntilNeverHeld, wantUntil[f.Name])
			}
		}
	})
}

// A step keyed to another that took long to inject is not abandoned at the
// plan's give-up time: the give-up counts the grace from the timeline's
// last activity. One that waits for an event that never comes is still
// abandoned, grace after the last activity.
func TestTimeline_GiveUpCountsFromTheLastActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		slow := &fakeAnomaly{name: "slow", base: base, injectTakes: 15 * time.Second}
		next := &fakeAnomaly{name: "next", base: base}
		never := &fakeAnomaly{name: "never", base: base}
		tl := newTimeline([]step{
			{sched("slow", 0, time.Second), slow},
			{keyed("next", 0, time.Second, spec.When{Step: "slow", Phase: spec.PhaseStarted}), next},
			{keyed("never", 0, time.Second, spec.When{Service: "sla", MessageType: "TicketQualified", Event: spec.EventHandled, Count: 1}), never},
		}, time.Second, slog.New(slog.DiscardHandler))
		tl.keyTo(newFakeEvents(), 10*time.Second, 500*time.Millisecond)
		tl.grace = 5 * time.Second
		tl.run(t.Context(), base)
		if next.injected != 1 || next.injectedAt != 15*time.Second {
			t.Errorf("next injected %d times, at %v; want once at 15s", next.injected, next.injectedAt)
		}
		// slow healed at 16s, next at 16s: the last activity; never gives up 5s later.
		if took := time.Since(base); took != 21*time.Second || never.injected != 0 {
			t.Errorf("the timeline ended after %v (never injected %d times), want 21s", took, never.injected)
		}
	})
}

// dead-lettered is tallied from the spans: a failed handling that was
// retried does not move it, one that dead-lettered its message does.
func TestTimeline_UntilDeadLetteredCountsDeadLetteringSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := time.Now()
		src := newFakeEvents()
		poison := &fakeAnomaly{name: "poison", base: base}
		st := sched("poison", 0, time.Second)
		st.Until = &spec.When{Counter: "dead-lettered", Op: ">", Value: 0}
		tl := newTimeline([]step{{st, poison}}, time.Second, slog.New(slog.DiscardHandler))
		tl.keyTo(src, 20*time.Second, 500*time.Millisecond)
		done := make(chan struct{})
		go func() { tl.run(t.Context(), base); close(done) }()

		retried := handled("communication", "TicketResolved", "m1")
		retried.Outcome = history.OutcomeRetried
		time.Sleep(500 * time.Millisecond)
		src.spans <- retried
		time.Sleep(2 * time.Second)
		dead := handled("communication", "TicketResolved", "m1")
		dead.Outcome = history.OutcomeDeadLettered
		src.spans <- dead // poison heals at 2.5s
		<-done
		if poison.injectedAt != 0 || poison.healAt != 2500*time.Millisecond {
			t.Errorf("poison injected at %v, healed at %v; want 0, 2.5s (the dead-lettering span)", poison.injectedAt, poison.healAt)
		}
	})
}

func TestLiveState_PublishedCountsOnlyConfirmedPublishes(t *testing.T) {
	l := newLiveState()
	now := time.Now()
	pub := func(id, errText string) history.Event {
		return history.Event{Kind: history.KindPublish, Service: "inquiries", MessageType: "InquirySubmitted",
			MessageID: id, End: now, Error: errText}
	}
	l.add(pub("a", ""))
	l.add(pub("b", "not confirmed after 5 republishes: confirm timeout"))
	w := &spec.When{Service: "inquiries", MessageType: "InquirySubmitted", Event: spec.EventPublished, Count: 2}
	tl := &timeline{live: l}
	if tl.holds(w, time.Time{}) {
		t.Fatal("a publish given up unconfirmed counted as published")
	}
	if got := l.counters["publishes"]; got != 2 {
		t.Errorf("publishes counter = %v, want 2 (every business publish)", got)
	}
	l.add(pub("b", "")) // the same message, confirmed on a later attempt
	if !tl.holds(w, time.Time{}) {
		t.Fatal("two confirmed publishes did not make count 2 hold")
	}
}
