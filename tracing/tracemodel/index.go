package tracemodel

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"iter"
	"slices"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// smallTrace is the trace size up to which parents are found by scanning
// instead of through a map.
const smallTrace = 16

// build sorts, finds parents and children and marks duplicates.
func (r *Run) build() {
	n := len(r.spans)
	r.order = make([]uint32, n)
	for i := range r.order {
		r.order[i] = uint32(i)
	}
	slices.SortFunc(r.order, func(a, b uint32) int {
		sa, sb := &r.spans[a], &r.spans[b]
		if c := cmp.Compare(binary.BigEndian.Uint64(sa.trace[:8]), binary.BigEndian.Uint64(sb.trace[:8])); c != 0 {
			return c
		}
		if c := cmp.Compare(binary.BigEndian.Uint64(sa.trace[8:]), binary.BigEndian.Uint64(sb.trace[8:])); c != 0 {
			return c
		}
		if c := cmp.Compare(sa.start, sb.start); c != 0 {
			return c
		}
		if c := bytes.Compare(sa.id[:], sb.id[:]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	r.traceOff = r.traceOff[:0]
	for k, i := range r.order {
		if k == 0 || r.spans[i].trace != r.spans[r.order[k-1]].trace {
			r.traceOff = append(r.traceOff, uint32(k))
		}
	}
	r.traceOff = append(r.traceOff, uint32(n))
	r.stats.Traces = len(r.traceOff) - 1

	r.parent = make([]int32, n)
	byID := map[trace.SpanID]uint32{}
	for t := range r.stats.Traces {
		members := r.order[r.traceOff[t]:r.traceOff[t+1]]
		r.linkTrace(members, byID)
	}

	counts := make([]uint32, n+1)
	for _, p := range r.parent {
		if p >= 0 {
			counts[p+1]++
		}
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	r.childOff = counts
	r.children = make([]uint32, counts[n])
	fill := make([]uint32, n)
	for _, i := range r.order { // children come out in start order
		if p := r.parent[i]; p >= 0 {
			r.children[r.childOff[p]+fill[p]] = i
			fill[p]++
		}
	}
}

// linkTrace marks duplicates and resolves parents within one trace.
func (r *Run) linkTrace(members []uint32, byID map[trace.SpanID]uint32) {
	lookup := func(id trace.SpanID) (uint32, bool) {
		for _, j := range members {
			if r.spans[j].id == id && r.spans[j].flags&flagDuplicate == 0 {
				return j, true
			}
		}
		return 0, false
	}
	if len(members) > smallTrace {
		clear(byID)
		lookup = func(id trace.SpanID) (uint32, bool) {
			j, ok := byID[id]
			return j, ok
		}
	}
	for k, i := range members {
		s := &r.spans[i]
		if len(members) > smallTrace {
			if _, dup := byID[s.id]; dup {
				s.flags |= flagDuplicate
				r.stats.DuplicateSpans++
				continue
			}
			byID[s.id] = i
			continue
		}
		for _, j := range members[:k] {
			if r.spans[j].id == s.id && r.spans[j].flags&flagDuplicate == 0 {
				s.flags |= flagDuplicate
				r.stats.DuplicateSpans++
				break
			}
		}
	}
	for _, i := range members {
		s := &r.spans[i]
		r.parent[i] = -1
		if s.flags&flagDuplicate != 0 || !s.parent.IsValid() {
			continue
		}
		if j, ok := lookup(s.parent); ok && j != i {
			r.parent[i] = int32(j)
		}
	}
}

// traceRange returns the range of order holding trace tid.
func (r *Run) traceRange(tid trace.TraceID) (lo, hi uint32, ok bool) {
	nt := len(r.traceOff) - 1
	k := sort.Search(nt, func(k int) bool {
		t := r.spans[r.order[r.traceOff[k]]].trace
		return bytes.Compare(t[:], tid[:]) >= 0
	})
	if k >= nt || r.spans[r.order[r.traceOff[k]]].trace != tid {
		return 0, 0, false
	}
	return r.traceOff[k], r.traceOff[k+1], true
}

func (r *Run) view(idx []uint32) []Span {
	if len(idx) == 0 {
		return nil
	}
	out := make([]Span, len(idx))
	for k, i := range idx {
		out[k] = Span{r: r, i: i}
	}
	return out
}

// TraceCount returns the number of distinct trace ids.
func (r *Run) TraceCount() int { return r.stats.Traces }

// TraceIDs returns every trace id, sorted.
func (r *Run) TraceIDs() []trace.TraceID {
	out := make([]trace.TraceID, r.stats.Traces)
	for k := range out {
		out[k] = r.spans[r.order[r.traceOff[k]]].trace
	}
	return out
}

// Trace returns the spans of trace tid ordered by start time (nil if the run
// has none).
func (r *Run) Trace(tid trace.TraceID) []Span {
	lo, hi, ok := r.traceRange(tid)
	if !ok {
		return nil
	}
	return r.view(r.order[lo:hi])
}

// Traces yields every trace, in trace id order, with its spans in start
// order.
func (r *Run) Traces() iter.Seq2[trace.TraceID, []Span] {
	return func(yield func(trace.TraceID, []Span) bool) {
		for k := range r.stats.Traces {
			members := r.order[r.traceOff[k]:r.traceOff[k+1]]
			if !yield(r.spans[members[0]].trace, r.view(members)) {
				return
			}
		}
	}
}

// Shape is a trace's connectivity.
type Shape struct {
	TraceID trace.TraceID
	Spans   int    // all spans, duplicates included
	Roots   []Span // spans without a parent id
	// Orphans have a parent id that no span of the trace has: their parent
	// was never written (or was lost).
	Orphans    []Span
	Duplicates []Span // repeated (trace id, span id) lines
}

// Connected reports whether the trace is one tree: exactly one root and
// every other span's parent present. Duplicates do not disconnect a trace.
func (s Shape) Connected() bool { return len(s.Roots) == 1 && len(s.Orphans) == 0 }

// Shape returns the connectivity of trace tid (Spans is 0 if the run has no
// such trace).
func (r *Run) Shape(tid trace.TraceID) Shape {
	lo, hi, ok := r.traceRange(tid)
	if !ok {
		return Shape{TraceID: tid}
	}
	return r.shape(r.order[lo:hi])
}

func (r *Run) shape(members []uint32) Shape {
	sh := Shape{TraceID: r.spans[members[0]].trace, Spans: len(members)}
	for _, i := range members {
		s := &r.spans[i]
		switch {
		case s.flags&flagDuplicate != 0:
			sh.Duplicates = append(sh.Duplicates, Span{r: r, i: i})
		case !s.parent.IsValid():
			sh.Roots = append(sh.Roots, Span{r: r, i: i})
		case r.parent[i] < 0:
			sh.Orphans = append(sh.Orphans, Span{r: r, i: i})
		}
	}
	return sh
}

// Disconnected returns the shape of every trace that is not connected, in
// trace id order.
func (r *Run) Disconnected() []Shape {
	var out []Shape
	for k := range r.stats.Traces {
		members := r.order[r.traceOff[k]:r.traceOff[k+1]]
		roots, orphans := 0, 0
		for _, i := range members {
			s := &r.spans[i]
			switch {
			case s.flags&flagDuplicate != 0:
			case !s.parent.IsValid():
				roots++
			case r.parent[i] < 0:
				orphans++
			}
		}
		if roots != 1 || orphans != 0 {
			out = append(out, r.shape(members))
		}
	}
	return out
}

// strIndex maps the string values of one attribute key to spans; entries
// are sorted by value id, then trace and start time.
type strIndex struct {
	val  []uint32
	span []uint32
}

func (r *Run) index(key attribute.Key) *strIndex {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ix, ok := r.idx[key]; ok {
		return ix
	}
	ix := &strIndex{}
	if kid, ok := r.ids[string(key)]; ok {
		type pair struct{ val, span uint32 }
		var pairs []pair
		for _, i := range r.order {
			s := &r.spans[i]
			for _, a := range r.attrs[s.attrOff : s.attrOff+s.attrN] {
				if a.key() == kid && a.kind() == attribute.STRING {
					pairs = append(pairs, pair{uint32(a.val()), i})
					break
				}
			}
		}
		slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.val, b.val) })
		ix.val = make([]uint32, len(pairs))
		ix.span = make([]uint32, len(pairs))
		for k, p := range pairs {
			ix.val[k], ix.span[k] = p.val, p.span
		}
	}
	if r.idx == nil {
		r.idx = map[attribute.Key]*strIndex{}
	}
	r.idx[key] = ix
	return ix
}

// ByAttr returns the spans whose string attribute key equals value, ordered
// by trace id and start time. The index for key is built on first use.
func (r *Run) ByAttr(key attribute.Key, value string) []Span {
	ix := r.index(key)
	vid, ok := r.ids[value]
	if !ok {
		return nil
	}
	lo, _ := slices.BinarySearch(ix.val, vid)
	hi := lo
	for hi < len(ix.val) && ix.val[hi] == vid {
		hi++
	}
	return r.view(ix.span[lo:hi])
}

// GroupByAttr yields each distinct string value of key with its spans.
func (r *Run) GroupByAttr(key attribute.Key) iter.Seq2[string, []Span] {
	return func(yield func(string, []Span) bool) {
		ix := r.index(key)
		for lo := 0; lo < len(ix.val); {
			hi := lo
			for hi < len(ix.val) && ix.val[hi] == ix.val[lo] {
				hi++
			}
			if !yield(r.strs[ix.val[lo]], r.view(ix.span[lo:hi])) {
				return
			}
			lo = hi
		}
	}
}

// ByMessageID returns the spans (publishes and handlings) of one message.
func (r *Run) ByMessageID(id string) []Span { return r.ByAttr(otelamqp.MessagingMessageID, id) }

// ByMessageType returns the spans carrying lab.message.type t.
func (r *Run) ByMessageType(t string) []Span { return r.ByAttr(otelamqp.LabMessageType, t) }
