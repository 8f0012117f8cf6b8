package check

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// index holds the lookups every checker shares, built once per Evaluate.
type index struct {
	h   *history.History
	tol time.Duration

	span       spanIndex          // span id → event
	publishes  map[string][]int32 // message id → publish events, in time order
	handlings  map[string][]int32 // message id → process events, in time order
	byAggr     map[string][]int32 // aggregate id → publish and process events
	deadLetter map[string][]*history.DeadLetter
	// copies are the last events ev copied out of History.Table, by event
	// number modulo their count: a checker that comes back to an event
	// gets the same copy instead of a new one.
	copies []evCopy
}

type evCopy struct {
	n int32
	e *history.Event
}

func newIndex(h *history.History) *index {
	if ev := h.Events; len(ev) > 0 {
		if !sort.SliceIsSorted(ev, func(i, j int) bool { return ev[i].Start.Before(ev[j].Start) }) {
			sort.SliceStable(ev, func(i, j int) bool { return ev[i].Start.Before(ev[j].Start) })
		}
	} else if h.Table != nil {
		h.Table.SortByStart()
	}
	// keys reads the indexed fields of an event of either form; a table's
	// rows are not copied out whole.
	keys := func(i int) (history.SpanID, string, string, string) {
		if len(h.Events) == 0 && h.Table != nil {
			return h.Table.Keys(i)
		}
		e := &h.Events[i]
		return e.SpanID, e.Kind, e.MessageID, e.AggregateID
	}
	n := h.NumEvents()
	var pubs, procs int
	for i := range n {
		switch _, kind, _, _ := keys(i); kind {
		case history.KindPublish:
			pubs++
		case history.KindProcess:
			procs++
		}
	}
	x := &index{
		h:          h,
		tol:        h.Meta.Limits.ClockToleranceOrDefault(),
		publishes:  make(map[string][]int32, pubs),
		handlings:  make(map[string][]int32, procs),
		byAggr:     make(map[string][]int32, len(h.Records)),
		deadLetter: make(map[string][]*history.DeadLetter),
	}
	// The span index, the aggregate index and the other indexes are built
	// concurrently: each reads the history only.
	var wg sync.WaitGroup
	wg.Go(func() {
		entries := make([]spanEntry, 0, n)
		for i := range n {
			if span, _, _, _ := keys(i); !span.IsZero() {
				entries = append(entries, spanEntry{binary.BigEndian.Uint64(span[:]), int32(i)})
			}
		}
		x.span = newSpanIndex(entries)
	})
	wg.Go(func() {
		for i := range n {
			if _, kind, _, aggr := keys(i); aggr != "" && (kind == history.KindPublish || kind == history.KindProcess) {
				x.byAggr[aggr] = append(x.byAggr[aggr], int32(i))
			}
		}
	})
	for i := range n {
		_, kind, msg, _ := keys(i)
		if msg == "" {
			continue
		}
		switch kind {
		case history.KindPublish:
			x.publishes[msg] = append(x.publishes[msg], int32(i))
		case history.KindProcess:
			x.handlings[msg] = append(x.handlings[msg], int32(i))
		}
	}
	for i := range h.Snapshot.DeadLetters {
		d := &h.Snapshot.DeadLetters[i]
		x.deadLetter[d.MessageID] = append(x.deadLetter[d.MessageID], d)
	}
	wg.Wait()
	return x
}

// spanIndex maps span ids to events: entries sorted by span id, then
// event (16 bytes a span where a map took about 40), and the first entry
// of each bucket of ids that share their top bits (about one entry a
// bucket, 4 bytes each), so a lookup searches one bucket instead of the
// whole slice.
type spanIndex struct {
	entries []spanEntry
	start   []uint32 // bucket b holds entries[start[b]:start[b+1]]
	shift   uint     // an id's bucket is id >> shift
}

type spanEntry struct {
	id uint64 // the SpanID's bytes
	n  int32
}

// newSpanIndex sorts entries and indexes their buckets.
func newSpanIndex(entries []spanEntry) spanIndex {
	slices.SortFunc(entries, func(a, b spanEntry) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.n, b.n))
	})
	bits := uint(0)
	for bits < 24 && 1<<bits < len(entries) {
		bits++
	}
	s := spanIndex{entries: entries, start: make([]uint32, 1<<bits+1), shift: 64 - bits}
	k := 0
	for b := range 1 << bits {
		for k < len(entries) && entries[k].id>>s.shift < uint64(b) {
			k++
		}
		s.start[b] = uint32(k)
	}
	s.start[1<<bits] = uint32(len(entries))
	return s
}

// event returns the last event with span id, as a map filled in event
// order would.
func (s spanIndex) event(span history.SpanID) (int32, bool) {
	if len(s.start) == 0 {
		return 0, false
	}
	id := binary.BigEndian.Uint64(span[:])
	b := id >> s.shift
	bucket := s.entries[s.start[b]:s.start[b+1]]
	i, _ := slices.BinarySearchFunc(bucket, id+1, func(e spanEntry, id uint64) int { return cmp.Compare(e.id, id) })
	if id == math.MaxUint64 {
		i = len(bucket)
	}
	if i == 0 || bucket[i-1].id != id {
		return 0, false
	}
	return bucket[i-1].n, true
}

// ev returns event n: a pointer into History.Events or, when the events are
// in History.Table, a copy that nothing else writes to (callers may keep it).
func (x *index) ev(n int32) *history.Event {
	if len(x.h.Events) > 0 || x.h.Table == nil {
		return &x.h.Events[n]
	}
	if x.copies == nil {
		x.copies = make([]evCopy, 1<<12)
	}
	c := &x.copies[n&(1<<12-1)]
	if c.e == nil || c.n != n {
		c.n, c.e = n, x.h.EventAt(int(n))
	}
	return c.e
}

// head returns the fields of event n that checkers filter on, without
// copying the rest of a table row out.
func (x *index) head(n int32) history.EventHead { return x.h.HeadAt(int(n)) }

func isPublish(h *history.EventHead) bool { return h.Kind == history.KindPublish }
func isProcess(h *history.EventHead) bool { return h.Kind == history.KindProcess }

// hasSnapshot reports whether the services' databases were captured.
func (x *index) hasSnapshot() bool { return !x.h.Snapshot.At.IsZero() }

// deadLettered reports whether a message of msgType about aggregate, bound for
// service, ended in a dead-letter queue and is there: its effect is then
// accounted for rather than lost. It returns the message id.
func (x *index) deadLettered(aggregate, msgType, service string) (string, bool) {
	for _, n := range x.byAggr[aggregate] {
		e := x.head(n)
		if e.Kind != history.KindProcess || e.MessageType != msgType || e.Outcome != history.OutcomeDeadLettered {
			continue
		}
		if service != "" && e.Service != service {
			continue
		}
		if len(x.deadLetter[e.MessageID]) > 0 {
			return e.MessageID, true
		}
	}
	return "", false
}

// related returns message and trace ids of the events about aggregate with one
// of the given message types (any type when none is given), for violations.
func (x *index) related(aggregate string, types ...string) (msgs, traces []string) {
	for _, n := range x.byAggr[aggregate] {
		e := x.head(n)
		if len(types) > 0 && !slices.Contains(types, e.MessageType) {
			continue
		}
		msgs = appendUnique(msgs, e.MessageID)
		traces = appendUnique(traces, e.TraceID.String())
	}
	return msgs, traces
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
