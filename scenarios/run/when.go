package run

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// events is the live stream a timeline keys its when steps to.
type events interface {
	// Spans delivers the spans the services end, as they are written, until
	// ctx ends; the channel is closed then.
	Spans(ctx context.Context) <-chan history.Event
	// Counters reads the named live counters now. A counter it cannot read
	// (yet) is absent.
	Counters(ctx context.Context, names []string) map[string]float64
}

// errNeverFired marks a when step abandoned because its event never came.
var errNeverFired = errors.New("never fired")

// spanKey counts one service's handlings or publishes of one message type.
type spanKey struct{ service, messageType, event string }

// liveState is what the when steps wait on: per key, the distinct message
// ids with the end of their first span; the span counters; the last polled
// counters. Guarded by timeline.mu.
type liveState struct {
	changed  chan struct{} // closed and replaced on every change
	messages map[spanKey]map[string]time.Time
	any      map[spanKey]map[string]time.Time // the same with service ""
	counters map[string]float64
}

func newLiveState() liveState {
	return liveState{changed: make(chan struct{}), messages: map[spanKey]map[string]time.Time{},
		any: map[spanKey]map[string]time.Time{}, counters: map[string]float64{}}
}

// countSince counts the ids whose first span ended at or after since.
func countSince(ids map[string]time.Time, since time.Time) int {
	if since.IsZero() {
		return len(ids)
	}
	n := 0
	for _, end := range ids {
		if !end.Before(since) {
			n++
		}
	}
	return n
}

// notify wakes every waiter.
func (l *liveState) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// add tallies one span; it reports whether anything changed.
func (l *liveState) add(e history.Event) bool {
	var event string
	switch e.Kind {
	case history.KindProcess:
		event = spec.EventHandled
		l.counters["deliveries"]++
		if e.Redelivered {
			l.counters["deliveries.redelivered"]++
		}
		if e.Dedup == history.DedupDuplicate {
			l.counters["dedup.skips"]++
		}
		if e.Outcome == history.OutcomeDeadLettered {
			l.counters["dead-lettered"]++
		}
	case history.KindPublish:
		if !e.BusinessPublish() {
			return false
		}
		event = spec.EventPublished
		l.counters["publishes"]++
		if e.Republish > 0 {
			l.counters["publishes.republished"]++
		}
		if e.Error != "" {
			// Given up unconfirmed (nacked, timed out, no channel): not
			// published for a when, which counts the broker's confirms.
			return true
		}
	default:
		return false
	}
	for _, k := range []struct {
		m   map[spanKey]map[string]time.Time
		key spanKey
	}{{l.messages, spanKey{e.Service, e.MessageType, event}}, {l.any, spanKey{"", e.MessageType, event}}} {
		ids := k.m[k.key]
		if ids == nil {
			ids = map[string]time.Time{}
			k.m[k.key] = ids
		}
		if _, seen := ids[e.MessageID]; !seen {
			ids[e.MessageID] = e.End
		}
	}
	return true
}

// holds reports whether w holds now, its span counts counting the spans that
// ended at or after since (zero: all) (t.mu held).
func (t *timeline) holds(w *spec.When, since time.Time) bool {
	switch w.Form() {
	case spec.WhenSpan:
		m := t.live.messages
		if w.Service == "" {
			m = t.live.any
		}
		return countSince(m[spanKey{w.Service, w.MessageType, w.Event}], since) >= w.Count
	case spec.WhenStep:
		j := slices.IndexFunc(t.steps, func(s step) bool { return s.sched.Name == w.Step })
		if j < 0 {
			return false
		}
		f := t.faults[j]
		if w.Phase == spec.PhaseHealed {
			return !f.Healed.IsZero()
		}
		return f.Applied()
	case spec.WhenCounter:
		v, ok := t.live.counters[w.Counter]
		return ok && w.Holds(v)
	}
	return false
}

// await waits until step i's when holds (then its delay), ctx ends (its
// error) or the base time plus giveUp passes before it held (errNeverFired).
func (t *timeline) await(ctx context.Context, base time.Time, i int) error {
	t.setWaiting(i, true)
	defer t.setWaiting(i, false)
	err := t.awaitCond(ctx, base, t.steps[i].sched.When, time.Time{})
	if errors.Is(err, errNeverFired) {
		return fmt.Errorf("%w: when %s (gave up %s after the method began)", errNeverFired, t.steps[i].sched.When, t.giveUp)
	}
	if err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	return nil
}

// awaitCond waits until w holds (its span counts counting from since), then
// its delay; it returns ctx's error, or errNeverFired once the base time
// plus giveUp has passed before w held.
func (t *timeline) awaitCond(ctx context.Context, base time.Time, w *spec.When, since time.Time) error {
	if w.Form() == spec.WhenCounter {
		t.mu.Lock()
		t.counterWaits++
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			t.counterWaits--
			t.mu.Unlock()
		}()
	}
	giveUp := time.NewTimer(time.Hour)
	defer giveUp.Stop()
	for {
		t.mu.Lock()
		ok, changed, deadline := t.holds(w, since), t.live.changed, t.giveUpAt(base)
		t.mu.Unlock()
		if ok {
			if d := w.Delay.D(); d > 0 {
				return sleepUntil(ctx, time.Now().Add(d))
			}
			return nil
		}
		if !time.Now().Before(deadline) {
			return errNeverFired
		}
		giveUp.Reset(time.Until(deadline))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-giveUp.C:
		case <-changed:
		}
	}
}

// hold waits, for the workload's gate, until w holds or gives up (then it
// logs and returns nil: the workload goes on). Only ctx's end is an error.
func (t *timeline) hold(ctx context.Context, w *spec.When) error {
	t.mu.Lock()
	base := t.base
	t.holding = w
	t.holders++
	t.live.notify()
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		if t.holders--; t.holders == 0 {
			t.holding = nil
		}
		t.mu.Unlock()
	}()
	if base.IsZero() {
		base = time.Now()
	}
	err := t.awaitCond(ctx, base, w, time.Time{})
	t.mu.Lock()
	t.lastActive = time.Now()
	t.mu.Unlock()
	if errors.Is(err, errNeverFired) {
		t.log.Warn("Workload hold released unmet", "until", w.String(), "gave_up_after", t.giveUp)
		return nil
	}
	return err
}

// listen feeds the live state from the event source until ctx ends: every
// span that ended at or after base, and, while a counter step waits, the
// counters every poll.
func (t *timeline) listen(ctx context.Context, base time.Time, wg *sync.WaitGroup) {
	var names []string
	keyed := false
	conds := slices.Clone(t.gates)
	for _, s := range t.steps {
		conds = append(conds, s.sched.When, s.sched.Until)
	}
	for _, w := range conds {
		if w == nil {
			continue
		}
		keyed = true
		if w.Form() == spec.WhenCounter && !slices.Contains(spec.LiveSpanCounters, w.Counter) && !slices.Contains(names, w.Counter) {
			names = append(names, w.Counter)
		}
	}
	if !keyed || t.src == nil {
		return
	}
	spans := t.src.Spans(ctx)
	wg.Go(func() {
		for e := range spans {
			if e.End.Before(base) {
				continue // before the method: probes, warm-up
			}
			t.mu.Lock()
			if t.live.add(e) {
				t.live.notify()
			}
			t.mu.Unlock()
		}
	})
	if len(names) == 0 {
		return
	}
	wg.Go(func() {
		tick := time.NewTicker(t.poll)
		defer tick.Stop()
		for {
			if t.counterStepsWaiting() {
				got := t.src.Counters(ctx, names)
				t.mu.Lock()
				maps.Copy(t.live.counters, got)
				t.live.notify()
				t.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// counterStepsWaiting reports whether a counter condition is being waited
// for (a when, an until or the workload's hold).
func (t *timeline) counterStepsWaiting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counterWaits > 0
}

func (t *timeline) setWaiting(i int, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		t.waiting[i] = true
	} else {
		delete(t.waiting, i)
	}
}

// Waiting lists the steps waiting for their event, as "name (when …)", in
// step order.
func (t *timeline) Waiting() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	if t.holding != nil {
		out = append(out, fmt.Sprintf("workload (hold until %s)", t.holding))
	}
	for i, s := range t.steps {
		if t.waiting[i] {
			out = append(out, fmt.Sprintf("%s (when %s)", s.sched.Name, s.sched.When))
		}
	}
	return out
}
