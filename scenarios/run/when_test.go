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
