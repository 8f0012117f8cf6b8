package check

import (
	"iter"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// View is the read-only view of a history that an invariant's Check
// receives: the history itself and the lookups every checker shares, built
// once per Evaluate. A checker must not modify what it reads through it.
//
// A View is safe for concurrent use by checkers: its lookups only read, and
// Memo builds each value once.
type View struct {
	x    *index
	memo *memoTable // shared by every View of one evaluation (with)
}

type memoTable struct {
	mu      sync.Mutex
	entries map[reflect.Type]*memoEntry
}

type memoEntry struct {
	once sync.Once
	val  any
}

func newView(h *history.History) *View {
	return &View{x: newIndex(h), memo: &memoTable{entries: map[reflect.Type]*memoEntry{}}}
}

// with returns a View of the same evaluation over x (e.g. a worker's own
// copy of the index): it shares the memo, so Memo still builds once.
func (v *View) with(x *index) *View { return &View{x: x, memo: v.memo} }

// NewView indexes h for checkers, as Evaluate does (for a system's tests
// of its invariants). It sorts h's events by start time in place.
func NewView(h *history.History) *View { return newView(h) }

// History returns the judged history.
func (v *View) History() *history.History { return v.x.h }

// Records returns the system's workload and probe requests.
func (v *View) Records() []history.Record { return v.x.h.Records }

// HasSnapshot reports whether the services' databases were captured at
// the end of the run.
func (v *View) HasSnapshot() bool { return v.x.hasSnapshot() }

// ClockTolerance is how far a stored timestamp may be from the true time
// before it counts as wrong (Meta.Limits).
func (v *View) ClockTolerance() time.Duration { return v.x.tol }

// Holdings returns what the broker still held at the end (nil: not
// recorded).
func (v *View) Holdings() *history.Holdings { return v.x.h.Snapshot.Holdings }

// Events yields every event in start order with its number.
func (v *View) Events() iter.Seq2[int, *history.Event] { return v.x.h.AllEvents() }

// EventsWhere yields the events whose head keep accepts, in start order,
// without copying out the others.
func (v *View) EventsWhere(keep func(*history.EventHead) bool) iter.Seq2[int, *history.Event] {
	return v.x.h.EventsWhere(keep)
}

// Publishes returns the publish events of a message id, in time order.
func (v *View) Publishes(messageID string) []*history.Event {
	return v.events(v.x.publishes[messageID])
}

// Handlings returns the process events (one per delivery handled) of a
// message id, in time order.
func (v *View) Handlings(messageID string) []*history.Event {
	return v.events(v.x.handlings[messageID])
}

// About returns the publish and process events whose aggregate id is
// aggregate, in time order.
func (v *View) About(aggregate string) []*history.Event { return v.events(v.x.byAggr[aggregate]) }

func (v *View) events(ns []int32) []*history.Event {
	out := make([]*history.Event, len(ns))
	for i, n := range ns {
		out[i] = v.Event(n)
	}
	return out
}

// Parent returns the event of e's parent span, if it was recorded.
func (v *View) Parent(e *history.Event) (*history.Event, bool) {
	n, ok := v.x.span.event(e.ParentID)
	if !ok {
		return nil, false
	}
	return v.Event(n), true
}

// Related returns the message and trace ids of the events about aggregate
// with one of the given message types (any type when none is given), for
// a violation's ids.
func (v *View) Related(aggregate string, types ...string) (msgs, traces []string) {
	return v.x.related(aggregate, types...)
}

// DeadLettered reports whether a message of msgType about aggregate, bound
// for service ("" any), was dead-lettered and is in a dead-letter queue:
// its effect is then accounted for rather than lost. It returns the
// message id.
func (v *View) DeadLettered(aggregate, msgType, service string) (string, bool) {
	return v.x.deadLettered(aggregate, msgType, service)
}

// DeadLetters returns the dead letters found at the end with messageID.
func (v *View) DeadLetters(messageID string) []*history.DeadLetter { return v.x.deadLetter[messageID] }

// SystemSnapshot returns the system's snapshot (Snapshot.System) as a *T,
// decoded at most once per history: every invariant of the system shares
// the value and must not modify it. It returns nil and no error when the
// history has no system snapshot.
func SystemSnapshot[T any](v *View) (*T, error) {
	type decoded struct {
		s   *T
		err error
	}
	d := Memo(v, func(v *View) decoded {
		s, err := history.SnapshotAs[T](&v.x.h.Snapshot.System)
		return decoded{s, err}
	})
	return d.s, d.err
}

// Memo returns build(v), built once per view and type T (also when
// checkers ask concurrently): a system's checkers use it to share their own
// lookups (e.g. tickets by id), which they must then only read.
func Memo[T any](v *View, build func(*View) T) T {
	k := reflect.TypeFor[T]()
	m := v.memo
	m.mu.Lock()
	e, ok := m.entries[k]
	if !ok {
		e = &memoEntry{}
		m.entries[k] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.val = build(v) })
	return e.val.(T)
}

// Event numbers: Events and EventsWhere yield each event with its number;
// the methods below take and give numbers, so that a checker keeps a
// reference to an event without copying it out of a compact history.

// Event returns event number n: a pointer into History.Events or, for a
// compact history, a copy that nothing writes to (callers may keep it; a
// View that Evaluate hands a checker may return the same copy again).
func (v *View) Event(n int32) *history.Event { return v.x.ev(n) }

// RolledBack is Event(n).RolledBack(), without copying the event out.
func (v *View) RolledBack(n int32) bool { return v.x.h.RolledBackAt(int(n)) }

// Head returns the fields of event n that checkers filter on, without
// copying the rest of it.
func (v *View) Head(n int32) history.EventHead { return v.x.head(n) }

// AboutN returns the numbers of the publish and process events about
// aggregate, in time order.
func (v *View) AboutN(aggregate string) []int32 { return v.x.byAggr[aggregate] }

// HandlingsN returns the numbers of the process events of a message id, in
// time order.
func (v *View) HandlingsN(messageID string) []int32 { return v.x.handlings[messageID] }

// PublishesN returns the numbers of the publish events of a message id, in
// time order.
func (v *View) PublishesN(messageID string) []int32 { return v.x.publishes[messageID] }

// HandledMessages returns the ids of every message handled at least once,
// sorted.
func (v *View) HandledMessages() []string {
	ids := make([]string, 0, len(v.x.handlings))
	for id := range v.x.handlings {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// SpanEvent returns the number of the event with span id (the last one, if
// recorded twice).
func (v *View) SpanEvent(span history.SpanID) (int32, bool) { return v.x.span.event(span) }
