package tracemodel

import (
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// Stats describes a load.
type Stats struct {
	spanfile.WalkStats
	Traces int
	// DuplicateSpans counts lines that repeat a (trace id, span id) already
	// loaded. They stay in the run but are never anyone's parent, root or
	// orphan; Shape lists them.
	DuplicateSpans int
	Strings        int // distinct strings interned
	Load           time.Duration
}

// Run is every span of a run, compact and indexed. It is immutable after
// Load; all methods are safe for concurrent use.
type Run struct {
	strs  []string
	ids   map[string]uint32
	files []string

	spans  []span
	attrs  []attr
	events []event
	links  []link
	slices []uint64

	order    []uint32 // span indexes sorted by (trace id, start, span id)
	traceOff []uint32 // trace k is order[traceOff[k]:traceOff[k+1]]
	parent   []int32  // parent span index; -1 for roots, orphans and duplicates
	childOff []uint32 // children of span i: children[childOff[i]:childOff[i+1]]
	children []uint32

	stats Stats

	// recent lists the strings the decoder interned for the record being
	// loaded, in decode order; sid finds most of them here at cursor
	// without a second map lookup.
	recent []recentStr
	cursor int
	cache  *[internCacheSize]cacheSlot // load-time only
	seed   maphash.Seed

	mu  sync.Mutex
	idx map[attribute.Key]*strIndex
}

const (
	flagDuplicate = 1 << iota
)

// span is the stored form of one span: strings are ids into Run.strs,
// attributes, events and links are ranges of the run's arenas.
type span struct {
	trace  trace.TraceID
	id     trace.SpanID
	parent trace.SpanID
	start  int64
	end    int64

	name, service, instance, scope, statusMsg uint32

	attrOff, attrN   uint32
	eventOff, eventN uint32
	linkOff, linkN   uint32

	file, line uint32
	dropped    uint32
	kind       uint8
	status     uint8
	flags      uint8
}

// attr is one attribute in 12 bytes: the key's string id and the
// attribute.Type share kk; lo/hi hold the value's 64 bits: a bool, an int64,
// float64 bits, a string id, or for slices offset<<32|length into
// Run.slices.
type attr struct {
	kk     uint32
	lo, hi uint32
}

const kindBits = 4 // attribute.Type fits in 4 bits

func newAttr(key uint32, kind attribute.Type, val uint64) attr {
	return attr{kk: key<<kindBits | uint32(kind), lo: uint32(val), hi: uint32(val >> 32)}
}

func (a attr) key() uint32          { return a.kk >> kindBits }
func (a attr) kind() attribute.Type { return attribute.Type(a.kk & (1<<kindBits - 1)) }
func (a attr) val() uint64          { return uint64(a.hi)<<32 | uint64(a.lo) }

type event struct {
	time           int64
	name           uint32
	attrOff, attrN uint32
}

type link struct {
	trace          trace.TraceID
	id             trace.SpanID
	attrOff, attrN uint32
}

// ReadRun loads every span file under runDir/traces.
func ReadRun(runDir string) (*Run, error) {
	files, err := spanfile.Files(filepath.Join(runDir, "traces"))
	if err != nil {
		return nil, fmt.Errorf("tracemodel: %w", err)
	}
	return Load(files)
}

// Load reads the span files in order and builds the model. Torn and
// malformed lines are skipped and reported in Stats; only unreadable files
// fail the load.
func Load(files []string) (*Run, error) {
	begin := time.Now()
	r := &Run{ids: map[string]uint32{"": 0}, strs: []string{""}, cache: new([internCacheSize]cacheSlot), seed: maphash.MakeSeed()}
	r.reserve(files)
	rd := spanfile.Reader{Intern: r.intern}
	lastFile, fileIdx := "", uint32(0)
	var addErr error
	st, err := rd.Walk(files, func(rec *spanfile.Record, pos spanfile.Position) error {
		if pos.File != lastFile || len(r.files) == 0 {
			lastFile = pos.File
			r.files = append(r.files, pos.File)
			fileIdx = uint32(len(r.files) - 1)
		}
		addErr = r.add(rec, fileIdx, pos.Line)
		return addErr
	})
	if err != nil {
		return nil, fmt.Errorf("tracemodel: %w", err)
	}
	r.stats.WalkStats = st
	r.cache, r.recent = nil, nil
	r.build()
	r.stats.Strings = len(r.strs)
	r.stats.Load = time.Since(begin)
	return r, nil
}

// reserve sizes the arenas from the files' total size, so loading a large
// run does not copy them over and over as they grow. Lab span lines are
// 500-1000 bytes with about 16 attributes; the estimate errs low, so at
// most a few percent of the file size is reserved in vain.
func (r *Run) reserve(files []string) {
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	spans := int(min(total/1024, math.MaxInt32))
	r.spans = make([]span, 0, spans)
	r.attrs = make([]attr, 0, spans*16)
	r.strs = slices.Grow(r.strs, spans)
}

var errTooLarge = errors.New("tracemodel: run exceeds the model's 32-bit arenas")

type recentStr struct {
	s  string
	id uint32
}

// internCacheSize is the number of slots of the direct-mapped cache in
// front of the string map. The strings that repeat on every line (keys,
// service names, message types, outcomes) stay in it, so most lookups do
// not touch the large map.
const internCacheSize = 4096

type cacheSlot struct {
	s  string
	id uint32
}

func (r *Run) intern(b []byte) string {
	slot := &r.cache[maphash.Bytes(r.seed, b)&(internCacheSize-1)]
	if slot.s == string(b) { // an empty slot holds "", id 0: also right
		r.recent = append(r.recent, recentStr{slot.s, slot.id})
		return slot.s
	}
	id, ok := r.ids[string(b)]
	if !ok {
		id = uint32(len(r.strs))
		s := string(b)
		r.ids[s] = id
		r.strs = append(r.strs, s)
	}
	s := r.strs[id]
	*slot = cacheSlot{s, id}
	r.recent = append(r.recent, recentStr{s, id})
	return s
}

// sid returns the id of s, adding it if new. The strings of a record come
// in about the order the decoder interned them, so it first looks a few
// entries ahead of the cursor in recent; comparing an interned string with
// itself is a pointer comparison.
func (r *Run) sid(s string) uint32 {
	if s == "" {
		return 0
	}
	for k := r.cursor; k < len(r.recent) && k < r.cursor+4; k++ {
		if r.recent[k].s == s {
			r.cursor = k + 1
			return r.recent[k].id
		}
	}
	if id, ok := r.ids[s]; ok {
		return id
	}
	id := uint32(len(r.strs))
	r.ids[s] = id
	r.strs = append(r.strs, s)
	return id
}

func (r *Run) add(rec *spanfile.Record, file uint32, line int64) error {
	defer func() { r.recent, r.cursor = r.recent[:0], 0 }()
	if len(r.spans) >= math.MaxInt32 || len(r.attrs) > math.MaxUint32-1<<16 ||
		len(r.slices) > math.MaxUint32-1<<16 || len(r.strs) >= 1<<(32-kindBits)-1<<16 {
		return errTooLarge
	}
	// Fields in the encoder's order, so sid mostly hits recent.
	s := span{
		trace: rec.TraceID, id: rec.SpanID, parent: rec.ParentSpanID,
		start: rec.Start, end: rec.End,
		name: r.sid(rec.Name), statusMsg: r.sid(rec.StatusMessage),
		service: r.sid(rec.Service), instance: r.sid(rec.Instance), scope: r.sid(rec.Scope),
		file: file, line: uint32(min(line, math.MaxUint32)),
		dropped: uint32(min(max(rec.Dropped, 0), math.MaxUint32)),
		kind:    uint8(rec.Kind), status: uint8(rec.StatusCode),
	}
	s.attrOff, s.attrN = r.addAttrs(rec.Attrs)
	s.eventOff = uint32(len(r.events))
	for _, e := range rec.Events {
		ev := event{time: e.Time, name: r.sid(e.Name)}
		ev.attrOff, ev.attrN = r.addAttrs(e.Attrs)
		r.events = append(r.events, ev)
	}
	s.eventN = uint32(len(rec.Events))
	s.linkOff = uint32(len(r.links))
	for _, l := range rec.Links {
		lk := link{trace: l.TraceID, id: l.SpanID}
		lk.attrOff, lk.attrN = r.addAttrs(l.Attrs)
		r.links = append(r.links, lk)
	}
	s.linkN = uint32(len(rec.Links))
	r.spans = append(r.spans, s)
	return nil
}

func (r *Run) addAttrs(kvs []attribute.KeyValue) (off, n uint32) {
	off = uint32(len(r.attrs))
	for _, kv := range kvs {
		key, t := r.sid(string(kv.Key)), kv.Value.Type()
		var val uint64
		switch t {
		case attribute.BOOL:
			if kv.Value.AsBool() {
				val = 1
			}
		case attribute.INT64:
			val = uint64(kv.Value.AsInt64())
		case attribute.FLOAT64:
			val = math.Float64bits(kv.Value.AsFloat64())
		case attribute.STRING:
			val = uint64(r.sid(kv.Value.AsString()))
		case attribute.STRINGSLICE:
			ss := kv.Value.AsStringSlice()
			val = uint64(len(r.slices))<<32 | uint64(len(ss))
			for _, s := range ss {
				r.slices = append(r.slices, uint64(r.sid(s)))
			}
		case attribute.INT64SLICE:
			is := kv.Value.AsInt64Slice()
			val = uint64(len(r.slices))<<32 | uint64(len(is))
			for _, v := range is {
				r.slices = append(r.slices, uint64(v))
			}
		case attribute.FLOAT64SLICE:
			fs := kv.Value.AsFloat64Slice()
			val = uint64(len(r.slices))<<32 | uint64(len(fs))
			for _, v := range fs {
				r.slices = append(r.slices, math.Float64bits(v))
			}
		case attribute.BOOLSLICE:
			bs := kv.Value.AsBoolSlice()
			val = uint64(len(r.slices))<<32 | uint64(len(bs))
			for _, v := range bs {
				b := uint64(0)
				if v {
					b = 1
				}
				r.slices = append(r.slices, b)
			}
		default:
			continue
		}
		r.attrs = append(r.attrs, newAttr(key, t, val))
	}
	return off, uint32(len(r.attrs)) - off
}

func (r *Run) value(a attr) attribute.Value {
	v := a.val()
	off, n := v>>32, v&math.MaxUint32
	switch a.kind() {
	case attribute.BOOL:
		return attribute.BoolValue(v == 1)
	case attribute.INT64:
		return attribute.Int64Value(int64(v))
	case attribute.FLOAT64:
		return attribute.Float64Value(math.Float64frombits(v))
	case attribute.STRING:
		return attribute.StringValue(r.strs[v])
	case attribute.STRINGSLICE:
		return attribute.StringSliceValue(r.stringSlice(a))
	case attribute.INT64SLICE:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(r.slices[off+uint64(i)])
		}
		return attribute.Int64SliceValue(out)
	case attribute.FLOAT64SLICE:
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(r.slices[off+uint64(i)])
		}
		return attribute.Float64SliceValue(out)
	case attribute.BOOLSLICE:
		out := make([]bool, n)
		for i := range out {
			out[i] = r.slices[off+uint64(i)] == 1
		}
		return attribute.BoolSliceValue(out)
	}
	return attribute.Value{}
}

func (r *Run) stringSlice(a attr) []string {
	v := a.val()
	off, n := v>>32, v&math.MaxUint32
	out := make([]string, n)
	for i := range out {
		out[i] = r.strs[r.slices[off+uint64(i)]]
	}
	return out
}

func (r *Run) kvs(off, n uint32) []attribute.KeyValue {
	if n == 0 {
		return nil
	}
	out := make([]attribute.KeyValue, n)
	for i, a := range r.attrs[off : off+n] {
		out[i] = attribute.KeyValue{Key: attribute.Key(r.strs[a.key()]), Value: r.value(a)}
	}
	return out
}

// Stats returns how the run was loaded.
func (r *Run) Stats() Stats { return r.stats }

// Files returns the span files that held at least one span.
func (r *Run) Files() []string { return r.files }

// Len returns the number of spans.
func (r *Run) Len() int { return len(r.spans) }

// At returns span i, 0 <= i < Len(), in file order.
func (r *Run) At(i int) Span { return Span{r: r, i: uint32(i)} }

// All yields every span in file order.
func (r *Run) All() iter.Seq[Span] {
	return func(yield func(Span) bool) {
		for i := range r.spans {
			if !yield(Span{r: r, i: uint32(i)}) {
				return
			}
		}
	}
}

// Find returns the span with the given ids (the first, if duplicated).
func (r *Run) Find(tid trace.TraceID, sid trace.SpanID) (Span, bool) {
	lo, hi, ok := r.traceRange(tid)
	if !ok {
		return Span{}, false
	}
	for _, i := range r.order[lo:hi] {
		if r.spans[i].id == sid && r.spans[i].flags&flagDuplicate == 0 {
			return Span{r: r, i: i}, true
		}
	}
	return Span{}, false
}

// codeOf converts the stored status.
func codeOf(b uint8) codes.Code { return codes.Code(b) }
