package history

import (
	"cmp"
	"encoding/binary"
	"iter"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// EventTable holds events in a compact form: one fixed-size row per event
// (80 bytes, where an Event takes 424) holding its times, ids and the
// strings that differ from event to event (message, correlation, causation
// and aggregate ids) as handles into one table of distinct strings whose
// bytes sit in shared chunks. The fields that few events differ in (kind,
// name, service, instance, message type, destination, routing key, the
// outcomes, error, attempt, republish, redelivered, zones, number of effect
// keys) form a shape, stored once per distinct combination and referred to
// by a handle. The trace id is a handle too, and the effect keys sit in one
// shared pool. Attempt and Republish are kept as 32-bit numbers (larger
// values are clamped) and at most 65,535 effect keys per event. The zero
// value is an empty table ready for Append; a table is not safe for
// concurrent use.
type EventTable struct {
	rows   []eventRow
	shapes []rowShape                // shape handle → shape
	shapeH map[rowShape]uint32       // shape → handle; nil after Seal
	strs   []string                  // handle → string; handle 0 is ""
	handle map[string]uint32         // string → handle; nil after Seal
	recent *[recentSize]recentString // strings interned last, by address; nil after Seal
	seen   *[seenSize]recentString   // strings internBytes found or added, by content; nil after Seal
	chunk  []byte                    // where new strings are copied
	traces []TraceID                 // trace handle → id
	traceH map[TraceID]uint32
	keys   []string         // effect keys of all rows, in row order
	locs   []*time.Location // row loc → location; 0 is UTC
}

// The string fields of an Event a row holds, in the order of eventRow.str.
const (
	sMessageID = iota
	sCorrelationID
	sCausationID
	sAggregateID
	numRowStrings
)

// The string fields of an Event a shape holds, in the order of rowShape.str.
const (
	sKind = iota
	sName
	sService
	sInstance
	sMessageType
	sDestination
	sRoutingKey
	sDedup
	sOrder
	sOutcome
	sTx
	sPublishVia
	sConfirm
	sError
	numShapeStrings
)

type eventRow struct {
	startSec, endSec int64 // unix seconds (the zero time is -62135596800)
	span, parent     SpanID
	aggVer           int64
	startNs, endNs   uint32
	str              [numRowStrings]uint32
	trace            uint32
	keyOff           uint32
	shape            uint32
}

// rowShape is the part of a row that many rows share.
type rowShape struct {
	str                [numShapeStrings]uint32
	attempt, republish int32
	keyN               uint16
	startLoc, endLoc   uint8
	redelivered        bool
	emptyKeys          bool // EffectKeys is empty but not nil
}

// recentString is a string of the table (the table's own copy) and its
// handle. The bytes of the table's strings never change, so a string with
// the same data pointer and length is the same string.
type recentString struct {
	p *byte
	n int
	h uint32
}

// recentSize is the number of strings intern remembers by address: a
// loader interns a line's strings (Intern) and Append looks them up again.
const recentSize = 1 << 10

func recentSlot(p *byte, n int) int {
	a := uintptr(unsafe.Pointer(p))
	return int((a>>3 ^ a>>13 ^ uintptr(n)) & (recentSize - 1))
}

// noKeys is the EffectKeys of a row with emptyKeys.
var noKeys = []string{}

// Len is the number of events in the table.
func (t *EventTable) Len() int { return len(t.rows) }

// Append adds a copy of e.
func (t *EventTable) Append(e *Event) {
	sh := rowShape{
		attempt: clamp32(e.Attempt), republish: clamp32(e.Republish), redelivered: e.Redelivered,
		emptyKeys: e.EffectKeys != nil && len(e.EffectKeys) == 0,
		keyN:      uint16(min(len(e.EffectKeys), math.MaxUint16)),
		str: [numShapeStrings]uint32{
			sKind: t.intern(e.Kind), sName: t.intern(e.Name), sService: t.intern(e.Service),
			sInstance: t.intern(e.Instance), sMessageType: t.intern(e.MessageType),
			sDestination: t.intern(e.Destination), sRoutingKey: t.intern(e.RoutingKey),
			sDedup: t.intern(e.Dedup), sOrder: t.intern(e.Order), sOutcome: t.intern(e.Outcome),
			sTx: t.intern(e.Tx), sPublishVia: t.intern(e.PublishVia), sConfirm: t.intern(e.Confirm),
			sError: t.intern(e.Error),
		},
	}
	r := eventRow{
		trace: t.traceHandle(e.TraceID), span: e.SpanID, parent: e.ParentID,
		aggVer: e.AggregateVersion, keyOff: uint32(len(t.keys)),
		str: [numRowStrings]uint32{
			sMessageID: t.intern(e.MessageID), sCorrelationID: t.intern(e.CorrelationID),
			sCausationID: t.intern(e.CausationID), sAggregateID: t.intern(e.AggregateID),
		},
	}
	r.startSec, r.startNs, sh.startLoc = t.putTime(e.Start)
	r.endSec, r.endNs, sh.endLoc = t.putTime(e.End)
	r.shape = t.shapeHandle(&sh)
	for _, k := range e.EffectKeys[:sh.keyN] {
		t.keys = append(t.keys, t.strs[t.intern(k)])
	}
	t.rows = append(t.rows, r)
}

func (t *EventTable) shapeHandle(sh *rowShape) uint32 {
	if h, ok := t.shapeH[*sh]; ok {
		return h
	}
	if t.shapeH == nil {
		t.shapeH = make(map[rowShape]uint32, max(64, len(t.shapes)))
		for h, s := range t.shapes {
			t.shapeH[s] = uint32(h)
		}
		if h, ok := t.shapeH[*sh]; ok {
			return h
		}
	}
	h := uint32(len(t.shapes))
	t.shapes = append(t.shapes, *sh)
	t.shapeH[*sh] = h
	return h
}

func clamp32(n int) int32 { return int32(max(math.MinInt32, min(n, math.MaxInt32))) }

func (t *EventTable) traceHandle(id TraceID) uint32 {
	if h, ok := t.traceH[id]; ok {
		return h
	}
	if t.traceH == nil {
		t.traceH = make(map[TraceID]uint32, max(1024, len(t.traces)))
		for h, id := range t.traces {
			t.traceH[id] = uint32(h)
		}
		if h, ok := t.traceH[id]; ok {
			return h
		}
	}
	h := uint32(len(t.traces))
	t.traces = append(t.traces, id)
	t.traceH[id] = h
	return h
}

// Seal drops the lookups Append uses to share strings, shapes and trace ids
// (tens of MiB for a million spans); a later Append rebuilds them.
func (t *EventTable) Seal() {
	t.handle, t.recent, t.seen, t.shapeH, t.traceH = nil, nil, nil, nil, nil
}

// Reserve makes room for n more events.
func (t *EventTable) Reserve(n int) {
	t.rows = slices.Grow(t.rows, n)
}

// intern returns the handle of s, adding a copy of s to the table when new.
func (t *EventTable) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	p := unsafe.StringData(s)
	if t.recent != nil {
		if r := &t.recent[recentSlot(p, len(s))]; r.p == p && r.n == len(s) {
			return r.h
		}
	}
	h, ok := t.handle[s]
	if !ok {
		h = t.add(s)
	}
	// Remember the table's copy, never s: s may alias a buffer that changes.
	c := t.strs[h]
	if t.recent == nil {
		t.recent = new([recentSize]recentString)
	}
	t.recent[recentSlot(unsafe.StringData(c), len(c))] = recentString{unsafe.StringData(c), len(c), h}
	return h
}

// add adds a copy of s, which the table does not hold yet unless the
// lookup was dropped, and returns its handle.
func (t *EventTable) add(s string) uint32 { return t.addString(s, true) }

// addString is add; without copy the table keeps s itself, whose bytes
// must then never change.
func (t *EventTable) addString(s string, copy bool) uint32 {
	if t.handle == nil {
		if len(t.strs) == 0 {
			t.strs = append(t.strs, "")
		}
		t.handle = make(map[string]uint32, max(1024, len(t.strs)))
		for h, s := range t.strs[1:] {
			t.handle[s] = uint32(h + 1)
		}
		if h, ok := t.handle[s]; ok {
			return h
		}
	}
	h := uint32(len(t.strs))
	c := s
	if copy {
		c = t.copyString(s)
	}
	t.strs = append(t.strs, c)
	t.handle[c] = h
	return h
}

// reserveStrings makes room for n more distinct strings.
func (t *EventTable) reserveStrings(n int) {
	if n <= 0 || t.handle == nil {
		return
	}
	t.strs = slices.Grow(t.strs, n)
	m := make(map[string]uint32, len(t.handle)+n)
	maps.Copy(m, t.handle)
	t.handle = m
}

// AppendTable appends the events of u in order, as Append of each of them
// would: u's strings, shapes, trace ids and zones are looked up among t's
// and added when new. t takes over u's strings and effect keys without
// copying them (an effect key stays u's copy even when t holds an equal
// string); u must not be used afterwards.
func (t *EventTable) AppendTable(u *EventTable) {
	str := make([]uint32, len(u.strs))
	for h := 1; h < len(u.strs); h++ {
		s := u.strs[h]
		if k, ok := t.handle[s]; ok {
			str[h] = k
		} else {
			str[h] = t.addString(s, false)
		}
	}
	trace := make([]uint32, len(u.traces))
	for h, id := range u.traces {
		trace[h] = t.traceHandle(id)
	}
	const perRow = math.MaxUint32 // a shape with zones: looked up row by row
	shapeOf := func(h uint32) rowShape {
		sh := u.shapes[h]
		for k, s := range sh.str {
			sh.str[k] = str[s]
		}
		return sh
	}
	shape := make([]uint32, len(u.shapes))
	for h := range u.shapes {
		if sh := shapeOf(uint32(h)); sh.startLoc == 0 && sh.endLoc == 0 {
			shape[h] = t.shapeHandle(&sh)
		} else {
			shape[h] = perRow
		}
	}
	keyBase := uint32(len(t.keys))
	t.keys = append(t.keys, u.keys...)
	t.rows = slices.Grow(t.rows, len(u.rows))
	for _, r := range u.rows {
		for k, s := range r.str {
			r.str[k] = str[s]
		}
		r.trace = trace[r.trace]
		r.keyOff += keyBase
		if h := shape[r.shape]; h != perRow {
			r.shape = h
		} else {
			sh := shapeOf(r.shape)
			sh.startLoc = t.location(u.getTime(r.startSec, r.startNs, sh.startLoc))
			sh.endLoc = t.location(u.getTime(r.endSec, r.endNs, sh.endLoc))
			r.shape = t.shapeHandle(&sh)
		}
		t.rows = append(t.rows, r)
	}
}

// copyString copies s into the current chunk (a new one when it is full),
// so that distinct strings cost their bytes and not an allocation each.
func (t *EventTable) copyString(s string) string {
	const chunkSize = 64 << 10
	if len(s) > chunkSize/8 {
		return strings.Clone(s)
	}
	if len(t.chunk)+len(s) > cap(t.chunk) {
		t.chunk = make([]byte, 0, chunkSize)
	}
	off := len(t.chunk)
	t.chunk = append(t.chunk, s...)
	return unsafe.String(&t.chunk[off], len(s))
}

// Intern returns the table's copy of b, adding it when new: a
// spanfile.Decoder's Intern, so that a loader allocates a string only once.
func (t *EventTable) Intern(b []byte) string { return t.internBytes(b) }

// internBytes is intern for a byte slice, allocating only for a new string.
// It first looks in a small cache of the strings it returned, by content,
// which holds the few strings most events repeat (kinds, names, services,
// destinations) without a lookup in the table's large map of every string.
func (t *EventTable) internBytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if t.seen == nil {
		t.seen = new([seenSize]recentString)
	}
	slot := &t.seen[seenSlot(b)]
	if slot.n == len(b) && unsafe.String(slot.p, slot.n) == string(b) {
		// Append looks it up again by address.
		t.recent[recentSlot(slot.p, slot.n)] = *slot
		return unsafe.String(slot.p, slot.n)
	}
	// intern keeps a copy, never b itself.
	h := t.intern(unsafe.String(unsafe.SliceData(b), len(b)))
	c := t.strs[h]
	*slot = recentString{unsafe.StringData(c), len(c), h}
	return c
}

// seenBits is log2 of the number of strings internBytes caches by content.
const (
	seenBits = 12
	seenSize = 1 << seenBits
)

// seenSlot hashes the length and up to 24 bytes of b (its first, middle
// and last eight) to a slot of the content cache.
func seenSlot(b []byte) int {
	var x uint64
	if n := len(b); n >= 8 {
		x = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 21) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(b[n/2-4:]), 42)
	} else {
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	x = (x ^ uint64(len(b))) * 0x9E3779B97F4A7C15
	return int(x >> (64 - seenBits))
}

func (t *EventTable) putTime(tm time.Time) (sec int64, ns uint32, loc uint8) {
	return tm.Unix(), uint32(tm.Nanosecond()), t.location(tm)
}

// location returns the index of tm's location in t.locs: 0 for UTC, else
// the same location, or for a zone other than Local the first one with the
// same name and offset at tm (JSON decoding makes a new fixed zone per time).
func (t *EventTable) location(tm time.Time) uint8 {
	l := tm.Location()
	if l == time.UTC {
		return 0
	}
	if len(t.locs) == 0 {
		t.locs = append(t.locs, time.UTC)
	}
	for i, have := range t.locs {
		if have == l {
			return uint8(i)
		}
	}
	if l != time.Local {
		name, off := tm.Zone()
		for i, have := range t.locs[1:] {
			if n, o := tm.In(have).Zone(); have != time.Local && n == name && o == off {
				return uint8(i + 1)
			}
		}
	}
	if len(t.locs) == 256 {
		return uint8(len(t.locs) - 1) // past 255 zones, later ones share the last
	}
	t.locs = append(t.locs, l)
	return uint8(len(t.locs) - 1)
}

// getTime rebuilds a time as JSON decoding or time.Unix made it: UTC times
// (the zero time too) have no location pointer, like time.Time{}.
func (t *EventTable) getTime(sec int64, ns uint32, loc uint8) time.Time {
	l := time.UTC
	if loc != 0 {
		l = t.locs[loc]
	}
	return time.Unix(sec, int64(ns)).In(l)
}

// Get fills e with event i. Its EffectKeys share the table's pool (capped,
// so appending to them copies).
func (t *EventTable) Get(i int, e *Event) {
	r := &t.rows[i]
	sh := &t.shapes[r.shape]
	str := func(k int) string { return t.strs[sh.str[k]] }
	*e = Event{
		Kind:             str(sKind),
		Name:             str(sName),
		Start:            t.getTime(r.startSec, r.startNs, sh.startLoc),
		End:              t.getTime(r.endSec, r.endNs, sh.endLoc),
		TraceID:          t.traces[r.trace],
		SpanID:           r.span,
		ParentID:         r.parent,
		Service:          str(sService),
		Instance:         str(sInstance),
		MessageID:        t.strs[r.str[sMessageID]],
		MessageType:      str(sMessageType),
		CorrelationID:    t.strs[r.str[sCorrelationID]],
		CausationID:      t.strs[r.str[sCausationID]],
		Destination:      str(sDestination),
		RoutingKey:       str(sRoutingKey),
		AggregateID:      t.strs[r.str[sAggregateID]],
		AggregateVersion: r.aggVer,
		Redelivered:      sh.redelivered,
		Attempt:          int(sh.attempt),
		Dedup:            str(sDedup),
		Order:            str(sOrder),
		Outcome:          str(sOutcome),
		Tx:               str(sTx),
		PublishVia:       str(sPublishVia),
		Confirm:          str(sConfirm),
		Republish:        int(sh.republish),
		Error:            str(sError),
	}
	if sh.keyN > 0 {
		end := r.keyOff + uint32(sh.keyN)
		e.EffectKeys = t.keys[r.keyOff:end:end]
	} else if sh.emptyKeys {
		e.EffectKeys = noKeys[:0:0]
	}
}

// Keys returns the fields of event i the checkers index by, without
// copying the rest of the row out.
func (t *EventTable) Keys(i int) (span SpanID, kind, messageID, aggregateID string) {
	r := &t.rows[i]
	return r.span, t.strs[t.shapes[r.shape].str[sKind]], t.strs[r.str[sMessageID]], t.strs[r.str[sAggregateID]]
}

// Events returns the events as a slice (for code that needs History.Events,
// such as the reports).
func (t *EventTable) Events() []Event {
	out := make([]Event, len(t.rows))
	for i := range out {
		t.Get(i, &out[i])
	}
	return out
}

// SortByStart orders the events by start time, keeping the order of events
// that start at the same instant (as sort.SliceStable on Events does).
func (t *EventTable) SortByStart() {
	byStart := func(a, b eventRow) int {
		if a.startSec != b.startSec {
			return cmp.Compare(a.startSec, b.startSec)
		}
		return cmp.Compare(a.startNs, b.startNs)
	}
	if !slices.IsSortedFunc(t.rows, byStart) {
		slices.SortStableFunc(t.rows, byStart)
	}
}

// NumEvents is the number of events of h: len(Events), or Table's length
// when Events is empty.
func (h *History) NumEvents() int {
	if len(h.Events) == 0 && h.Table != nil {
		return h.Table.Len()
	}
	return len(h.Events)
}

// EventAt returns event i: a pointer into Events, or a new copy of the
// table's row when the events are in Table.
func (h *History) EventAt(i int) *Event {
	if len(h.Events) == 0 && h.Table != nil {
		e := new(Event)
		h.Table.Get(i, e)
		return e
	}
	return &h.Events[i]
}

// AllEvents yields every event with its index, in order. When the events
// are in Table, the *Event is one buffer refilled at every step: copy what
// outlives the step.
func (h *History) AllEvents() iter.Seq2[int, *Event] {
	return func(yield func(int, *Event) bool) {
		if len(h.Events) == 0 && h.Table != nil {
			var e Event
			for i := range h.Table.rows {
				h.Table.Get(i, &e)
				if !yield(i, &e) {
					return
				}
			}
			return
		}
		for i := range h.Events {
			if !yield(i, &h.Events[i]) {
				return
			}
		}
	}
}

// EventHead is the fields of an event that checkers filter on; reading it
// from a table copies these fields only, not the whole row.
type EventHead struct {
	Kind, Service, MessageID, MessageType, AggregateID, Outcome string

	TraceID          TraceID
	SpanID, ParentID SpanID
}

// Head returns the EventHead of e.
func (e *Event) Head() EventHead {
	return EventHead{Kind: e.Kind, Service: e.Service, MessageID: e.MessageID, MessageType: e.MessageType,
		AggregateID: e.AggregateID, Outcome: e.Outcome, TraceID: e.TraceID, SpanID: e.SpanID, ParentID: e.ParentID}
}

// Failed is Event.Failed of the event.
func (e *EventHead) Failed() bool { return failedOutcome(e.Outcome) }

// Head returns the EventHead of event i.
func (t *EventTable) Head(i int) EventHead {
	r := &t.rows[i]
	sh := &t.shapes[r.shape]
	return EventHead{Kind: t.strs[sh.str[sKind]], Service: t.strs[sh.str[sService]],
		MessageID: t.strs[r.str[sMessageID]], MessageType: t.strs[sh.str[sMessageType]],
		AggregateID: t.strs[r.str[sAggregateID]], Outcome: t.strs[sh.str[sOutcome]],
		TraceID: t.traces[r.trace], SpanID: r.span, ParentID: r.parent}
}

// RolledBack is Event.RolledBack of event i, read from its row's shape
// without copying the event out.
func (t *EventTable) RolledBack(i int) bool {
	sh := &t.shapes[t.rows[i].shape]
	return rolledBack(t.strs[sh.str[sKind]], t.strs[sh.str[sTx]], t.strs[sh.str[sOutcome]])
}

// RolledBackAt is Event.RolledBack of event i, of Events or of Table.
func (h *History) RolledBackAt(i int) bool {
	if len(h.Events) == 0 && h.Table != nil {
		return h.Table.RolledBack(i)
	}
	return h.Events[i].RolledBack()
}

// HeadAt returns the EventHead of event i, of Events or of Table.
func (h *History) HeadAt(i int) EventHead {
	if len(h.Events) == 0 && h.Table != nil {
		return h.Table.Head(i)
	}
	return h.Events[i].Head()
}

// EventsWhere is AllEvents restricted to the events whose head keep
// accepts; from a table, only those are copied out of their rows.
func (h *History) EventsWhere(keep func(*EventHead) bool) iter.Seq2[int, *Event] {
	return func(yield func(int, *Event) bool) {
		if len(h.Events) == 0 && h.Table != nil {
			var e Event
			for i := range h.Table.rows {
				if hd := h.Table.Head(i); !keep(&hd) {
					continue
				}
				h.Table.Get(i, &e)
				if !yield(i, &e) {
					return
				}
			}
			return
		}
		for i := range h.Events {
			if hd := h.Events[i].Head(); !keep(&hd) {
				continue
			}
			if !yield(i, &h.Events[i]) {
				return
			}
		}
	}
}
