package history

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// File names inside a history directory.
const (
	RunFile    = "history.json" // everything but the events
	EventsFile = "events.jsonl" // one Event per line
)

// Save writes h into dir (created if missing) as RunFile and EventsFile. Each
// file is written to a temporary name and renamed, so a crash never leaves a
// half-written history behind a valid name.
func Save(dir string, h *History) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save history: %w", err)
	}
	h.Meta.SchemaVersion = SchemaVersion
	if err := writeAtomic(filepath.Join(dir, RunFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	}); err != nil {
		return fmt.Errorf("save history: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, EventsFile), func(w io.Writer) error {
		return WriteEvents(w, h.Events)
	}); err != nil {
		return fmt.Errorf("save history: %w", err)
	}
	return nil
}

// WriteEvents writes events as JSON lines.
func WriteEvents(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

// Load reads a history directory written by Save.
func Load(dir string) (*History, error) {
	h, err := LoadHeader(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, EventsFile))
	if err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	defer f.Close()
	h.Events, err = ReadEvents(f)
	if err != nil {
		return nil, fmt.Errorf("load history %s: %w", filepath.Join(dir, EventsFile), err)
	}
	return h, nil
}

// LoadTable is Load with the events in History.Table instead of
// History.Events: the form for judging a large history. The run file and
// the events are read concurrently, and a large events file is decoded in
// parts, one per CPU.
func LoadTable(dir string) (*History, error) {
	type header struct {
		h   *History
		err error
	}
	hc := make(chan header, 1)
	go func() {
		h, err := LoadHeader(dir)
		hc <- header{h, err}
	}()
	table, err := func() (*EventTable, error) {
		f, err := os.Open(filepath.Join(dir, EventsFile))
		if err != nil {
			return nil, fmt.Errorf("load history: %w", err)
		}
		defer f.Close()
		t, err := readEventFile(f, runtime.GOMAXPROCS(0))
		if err != nil {
			return nil, fmt.Errorf("load history %s: %w", filepath.Join(dir, EventsFile), err)
		}
		return t, nil
	}()
	hd := <-hc
	if hd.err != nil {
		return nil, hd.err
	}
	if err != nil {
		return nil, err
	}
	hd.h.Table = table
	return hd.h, nil
}

// LoadHeader reads the run file of a history directory (everything but the
// events), streaming it. Equal strings and equal map[string]string fields
// of its array elements are shared (see sharer).
func LoadHeader(dir string) (*History, error) {
	name := filepath.Join(dir, RunFile)
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	defer f.Close()
	var h History
	dec := newStreamDecoder(bufio.NewReaderSize(f, 1<<20))
	if err := decodeStreaming(dec, reflect.ValueOf(&h).Elem(), newSharer(name)); err != nil {
		return nil, fmt.Errorf("load history %s: %w", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("load history %s: data after the history", name)
	}
	if h.Meta.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("load history %s: schema version %d, this tflab reads %d",
			dir, h.Meta.SchemaVersion, SchemaVersion)
	}
	return &h, nil
}

// ReadEventTable reads JSON-lines events into a table, streaming: it keeps
// one line at a time besides the table. When r is a file, the table is
// sized from the file's size and the length of its first lines.
func ReadEventTable(r io.Reader) (*EventTable, error) {
	t := &EventTable{}
	defer t.Seal()
	var size int64
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if _, err := readLines(r, size, size, t); err != nil {
		return nil, err
	}
	return t, nil
}

// readLines appends the JSON-lines events of r, size bytes long when known,
// to t, reserving room in t for the events of total bytes (size, or more
// when t is to receive other tables). It returns the number of events
// read; an error names the event by its number in r.
func readLines(r io.Reader, size, total int64, t *EventTable) (int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		e      Event
		keyBuf []string // reused for every line's effect keys
		long   []byte
		n      int
		read   int64 // bytes of the lines so far
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return n, fmt.Errorf("read events: %w", err)
		}
		if n == 1000 && total > 0 {
			// The first thousand lines tell the bytes per event and the
			// distinct strings per event.
			scale := float64(total) / float64(read) * 1.02
			t.Reserve(int(scale*float64(n)) - n)
			t.reserveStrings(int(scale*float64(len(t.strs))) - len(t.strs))
		}
		read += int64(len(line))
		if line = bytes.TrimSpace(line); len(line) > 0 {
			n++
			e.EffectKeys = keyBuf[:0]
			if derr := decodeEvent(line, &e, t.internBytes); derr != nil {
				return n, &lineError{n, derr}
			}
			if cap(e.EffectKeys) > cap(keyBuf) {
				keyBuf = e.EffectKeys
			}
			t.Append(&e)
		}
		if err != nil {
			return n, nil
		}
	}
}

// minPartSize is the smallest part of an events file readEventFile gives a
// decoder of its own.
var minPartSize int64 = 1 << 20

// readEventFile is ReadEventTable for a file, decoding it in parallel: the
// file is cut at line ends into at most maxParts parts of at least
// minPartSize, each part is decoded into a table of its own, and the
// tables are appended to the first in file order. The result holds the
// events of ReadEventTable in the same order.
func readEventFile(f *os.File, maxParts int) (*EventTable, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	size := fi.Size()
	parts := int(max(1, min(int64(maxParts), size/minPartSize)))
	cuts, err := lineCuts(f, size, parts)
	if err != nil {
		return nil, err
	}
	type part struct {
		t   *EventTable
		n   int
		err error
	}
	res := make([]part, len(cuts)-1)
	var wg sync.WaitGroup
	for i := range res {
		wg.Go(func() {
			t := &EventTable{}
			n, total := cuts[i+1]-cuts[i], cuts[i+1]-cuts[i]
			if i == 0 {
				total = size // the first table receives the others
			}
			k, err := readLines(io.NewSectionReader(f, cuts[i], n), n, total, t)
			if i > 0 {
				t.Seal() // AppendTable needs the lookups of the first table only
			}
			res[i] = part{t, k, err}
		})
	}
	wg.Wait()
	before := 0 // events in the parts before
	for _, p := range res {
		if p.err != nil {
			return nil, renumber(p.err, before)
		}
		before += p.n
	}
	t := res[0].t
	t.Reserve(before - t.Len())
	for _, p := range res[1:] {
		t.AppendTable(p.t)
	}
	t.Seal()
	return t, nil
}

// lineError is an event that did not decode, by its number.
type lineError struct {
	n   int
	err error
}

func (e *lineError) Error() string { return fmt.Sprintf("event %d: %v", e.n, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// renumber turns the error of a part into one naming the event by its
// number in the whole file, before events after the part's first.
func renumber(err error, before int) error {
	if le, ok := errors.AsType[*lineError](err); ok {
		return &lineError{before + le.n, le.err}
	}
	return err
}

// lineCuts returns parts+1 offsets into the file, from 0 to size, each
// inner one just after a newline (or size), in ascending order.
func lineCuts(f *os.File, size int64, parts int) ([]int64, error) {
	cuts := []int64{0}
	buf := make([]byte, 64<<10)
	for i := 1; i < parts; i++ {
		at := max(size*int64(i)/int64(parts), cuts[len(cuts)-1])
	search:
		for at < size {
			n, err := f.ReadAt(buf, at)
			if k := bytes.IndexByte(buf[:n], '\n'); k >= 0 {
				at += int64(k) + 1
				break search
			}
			at += int64(n)
			if err != nil {
				if errors.Is(err, io.EOF) {
					at = size
					break
				}
				return nil, fmt.Errorf("read events: %w", err)
			}
		}
		cuts = append(cuts, at)
	}
	return append(cuts, size), nil
}

// ReadEvents reads JSON-lines events. Lines are decoded in parallel batches
// (one worker per CPU) straight into their place, and every string is
// interned so that a large history keeps one copy of each per worker.
func ReadEvents(r io.Reader) ([]Event, error) {
	type batch struct {
		first int      // index of the first event
		lines [][]byte // one JSON object each
	}
	const batchSize = 2048
	workers := max(1, runtime.GOMAXPROCS(0))
	batches := make(chan batch, workers*2)
	var (
		mu     sync.Mutex
		events []Event
		errAt  = -1
		errMsg error
		wg     sync.WaitGroup
	)
	grow := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		if n > len(events) {
			if n > cap(events) {
				bigger := make([]Event, n, max(2*cap(events), n))
				copy(bigger, events)
				events = bigger
			}
			events = events[:n]
		}
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := newInterner()
			decoded := make([]Event, 0, batchSize)
			for b := range batches {
				decoded = decoded[:0]
				for i, line := range b.lines {
					var e Event
					if err := decodeEvent(line, &e, in.bytes); err != nil {
						mu.Lock()
						if errAt < 0 || b.first+i < errAt {
							errAt, errMsg = b.first+i, err
						}
						mu.Unlock()
						break
					}
					decoded = append(decoded, e)
				}
				mu.Lock()
				copy(events[b.first:], decoded)
				mu.Unlock()
			}
		}()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	n := 0
	cur := batch{}
	var scanErr error
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		cur.lines = append(cur.lines, bytes.Clone(line))
		n++
		if len(cur.lines) == batchSize {
			grow(n)
			batches <- cur
			cur = batch{first: n}
		}
	}
	scanErr = sc.Err()
	if len(cur.lines) > 0 {
		grow(n)
		batches <- cur
	}
	close(batches)
	wg.Wait()
	if scanErr != nil {
		return nil, fmt.Errorf("read events: %w", scanErr)
	}
	if errAt >= 0 {
		return nil, fmt.Errorf("event %d: %w", errAt+1, errMsg)
	}
	return events, nil
}

type interner map[string]string

func newInterner() interner { return make(interner, 1024) }

func (in interner) bytes(b []byte) string {
	if v, ok := in[string(b)]; ok {
		return v
	}
	s := string(b)
	in[s] = s
	return s
}

func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// decodeStreaming decodes the next JSON value of dec into v as
// json.Unmarshal would, but walks objects into structs member by member and
// arrays of structs element by element, so that only one element is
// buffered at a time: a run file of 100+ MiB is never held whole, and the
// arrays are trimmed to their length. Other
// values, elements and types with their own UnmarshalJSON go to dec.Decode.
// Each element of an array of structs then goes through sh.
func decodeStreaming(dec *streamDecoder, v reflect.Value, sh *sharer) error {
	t := v.Type()
	if t == systemSnapshotType && sh.file != nil {
		return skipSnapshot(dec, v.Addr().Interface().(*SystemSnapshot), sh.file)
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return dec.Decode(v.Addr().Interface())
	}
	switch {
	case t.Kind() == reflect.Struct:
		return decodeStreamingObject(dec, v, sh)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return decodeStreamingArray(dec, v, sh)
	}
	return dec.Decode(v.Addr().Interface())
}

// streamDecoder is the json.Decoder decodeStreaming reads with, which
// skipSnapshot may replace by one that continues after the snapshot: src
// is the decoder's input, base the offset in the input of the decoder's
// first byte and open the objects and arrays decodeStreaming is in.
type streamDecoder struct {
	*json.Decoder
	src  io.Reader
	base int64
	open []byte
}

func newStreamDecoder(r io.Reader) *streamDecoder {
	return &streamDecoder{Decoder: json.NewDecoder(r), src: r}
}

// offset is the input offset of the decoder: bytes of the input read so far.
func (d *streamDecoder) offset() int64 { return d.base + d.InputOffset() }

// resume replaces the decoder by one reading r, whose first byte is at
// offset at of the input, and which continues inside the objects and
// arrays of d.open, just after a value: it is fed a prefix that opens
// them (an object with the key "" for each object, then the number 0) and
// reads past the prefix.
func (d *streamDecoder) resume(r io.Reader, at int64) error {
	var prefix []byte
	for _, c := range d.open {
		if c == '{' {
			prefix = append(prefix, `{"":`...)
		} else {
			prefix = append(prefix, '[')
		}
	}
	prefix = append(prefix, '0')
	d.Decoder = json.NewDecoder(io.MultiReader(bytes.NewReader(prefix), r))
	d.src, d.base = r, at-int64(len(prefix))
	for _, c := range d.open {
		if _, err := d.Token(); err != nil { // the bracket
			return err
		}
		if c != '{' {
			continue
		}
		if _, err := d.Token(); err != nil { // the key
			return err
		}
	}
	_, err := d.Token() // the 0
	return err
}

// skipSnapshot reads past a system snapshot without decoding it (and
// without holding it whole), and leaves in s where it lies in the file,
// for SnapshotAs to decode; dec then continues after it. The snapshot's
// JSON is checked here only for matching brackets and closed strings
// (SnapshotAs decodes it).
func skipSnapshot(dec *streamDecoder, s *SystemSnapshot, file *fileSection) error {
	start := dec.offset()
	r := bufio.NewReaderSize(io.MultiReader(dec.Buffered(), dec.src), 64<<10)
	n, null, err := skipValue(r)
	if err != nil {
		return fmt.Errorf("system snapshot at offset %d: %w", start, err)
	}
	if err := dec.resume(r, start+n); err != nil {
		return err
	}
	if null {
		s.v = nil
		return nil
	}
	section := *file
	section.off, section.n = start, n
	s.v = &loadedSnapshot{file: &section}
	return nil
}

// errSkip is a value skipValue could not read past.
var errSkip = errors.New("unbalanced brackets or unterminated value")

// skipValue reads one JSON value from r, after the white space and colon
// before it, and returns the number of bytes read and whether the value
// was null. It checks only that brackets match and strings close; a
// scalar ends at the first delimiter (comma, bracket or white space).
func skipValue(r *bufio.Reader) (n int64, null bool, err error) {
	var (
		stack      []byte // open brackets
		inStr, esc bool
		started    bool
		lit        []byte // the value, when a scalar other than a string
	)
	for {
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil {
				if errors.Is(err, io.EOF) && lit != nil {
					return n, string(lit) == "null", nil
				}
				if errors.Is(err, io.EOF) {
					return n, false, errSkip
				}
				return n, false, err
			}
		}
		buf, _ := r.Peek(r.Buffered())
		i, done := 0, false
		for i < len(buf) && !done {
			c := buf[i]
			switch {
			case inStr && esc:
				esc = false
			case inStr:
				if k := bytes.IndexAny(buf[i:], "\"\\"); k < 0 {
					i = len(buf)
					continue
				} else {
					i += k
				}
				if buf[i] == '\\' {
					esc = true
				} else {
					inStr = false
					done = len(stack) == 0
				}
			case lit != nil:
				switch c {
				case ',', '}', ']', ' ', '\t', '\r', '\n':
					done = true
					continue // c is not part of the value
				}
				lit = append(lit, c)
			case c == '"':
				inStr, started = true, true
			case c == '{' || c == '[':
				stack, started = append(stack, c), true
			case c == '}' || c == ']':
				if len(stack) == 0 || stack[len(stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
					return n + int64(i), false, errSkip
				}
				stack = stack[:len(stack)-1]
				done = len(stack) == 0
			case started:
			case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ':':
			default:
				started, lit = true, []byte{c}
			}
			i++
		}
		if _, err := r.Discard(i); err != nil {
			return n, false, err
		}
		n += int64(i)
		if done {
			return n, lit != nil && string(lit) == "null", nil
		}
	}
}

var systemSnapshotType = reflect.TypeFor[SystemSnapshot]()

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func decodeStreamingObject(dec *streamDecoder, v reflect.Value, sh *sharer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null leaves a struct as it is
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("expected an object for %s, found %v", v.Type(), tok)
	}
	dec.open = append(dec.open, '{')
	defer func() { dec.open = dec.open[:len(dec.open)-1] }()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if f, ok := jsonField(v.Type(), key); ok {
			if err := decodeStreaming(dec, v.Field(f), sh); err != nil {
				return err
			}
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	_, err = dec.Token() // '}'
	return err
}

func decodeStreamingArray(dec *streamDecoder, v reflect.Value, sh *sharer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		v.SetZero()
		return nil
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("expected an array for %s, found %v", v.Type(), tok)
	}
	dec.open = append(dec.open, '[')
	defer func() { dec.open = dec.open[:len(dec.open)-1] }()
	v.SetLen(0)
	if v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	var raw json.RawMessage // a record, reused
	for dec.More() {
		v.Grow(1)
		v.SetLen(v.Len() + 1)
		elem := v.Index(v.Len() - 1)
		elem.SetZero()
		if r, ok := elem.Addr().Interface().(*Record); ok {
			// The workload: a hand-written decoder for records as Save
			// writes them, encoding/json for any other.
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if err := decodeRecord(raw, r, sh); err != nil {
				return err
			}
			continue
		}
		if err := dec.Decode(elem.Addr().Interface()); err != nil {
			return err
		}
		sh.share(elem)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return err
	}
	if n := v.Len(); v.Cap() > n+n/8 {
		// Drop the slack of the doublings: a snapshot's arrays are kept
		// for the whole judgement.
		exact := reflect.MakeSlice(v.Type(), n, n)
		reflect.Copy(exact, v)
		v.Set(exact)
	}
	return nil
}

// jsonField finds the exported field of struct type t that encoding/json
// decodes key into: the exact name first, then a case-insensitive match.
// Embedded structs are not walked (the history types have none).
func jsonField(t reflect.Type, key string) (int, bool) {
	fold := -1
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return i, true
		}
		if fold < 0 && strings.EqualFold(name, key) {
			fold = i
		}
	}
	return fold, fold >= 0
}

// sharer makes the equal strings, and the equal map[string]string, of the
// structs it is shown one value: encoding/json allocates each anew, and a
// run file repeats the same ids, e-mails, statuses and command parameters
// across workload and snapshot. Shared maps must not be written to.
type sharer struct {
	strs   map[string]string
	maps   map[string]map[string]string
	fields map[reflect.Type][]int // exported string and map[string]string fields
	key    []byte
	pairs  [][2][]byte  // an object's members, for decodeRecordFast
	file   *fileSection // the file decoded, for skipSnapshot (nil: decode snapshots)
}

// newSharer returns a sharer; with the path of the file being decoded (""
// when none) it also records where a system snapshot lies in it instead of
// decoding it (see skipSnapshot).
func newSharer(path string) *sharer {
	sh := &sharer{strs: map[string]string{}, maps: map[string]map[string]string{}, fields: map[reflect.Type][]int{}}
	if path == "" {
		return sh
	}
	abs, err := filepath.Abs(path) // SnapshotAs may run after a change of directory
	if err != nil {
		return sh
	}
	if fi, err := os.Stat(abs); err == nil {
		sh.file = &fileSection{path: abs, size: fi.Size(), modTimeNs: fi.ModTime().UnixNano()}
	}
	return sh
}

var mapStringString = reflect.TypeFor[map[string]string]()

// share replaces the top-level string and map[string]string fields of
// struct v by the first equal one it was shown.
func (sh *sharer) share(v reflect.Value) {
	fields, ok := sh.fields[v.Type()]
	if !ok {
		t := v.Type()
		fields = []int{}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() && (f.Type.Kind() == reflect.String || f.Type == mapStringString) {
				fields = append(fields, i)
			}
		}
		sh.fields[t] = fields
	}
	for _, i := range fields {
		f := v.Field(i)
		if f.Kind() == reflect.String {
			if s := f.String(); s != "" {
				if c, ok := sh.strs[s]; ok {
					f.SetString(c)
				} else {
					sh.strs[s] = s
				}
			}
			continue
		}
		if f.Len() == 0 {
			continue
		}
		m := f.Interface().(map[string]string)
		sh.key = sh.key[:0]
		for _, k := range slices.Sorted(maps.Keys(m)) {
			sh.key = binary.AppendUvarint(sh.key, uint64(len(k)))
			sh.key = append(sh.key, k...)
			sh.key = binary.AppendUvarint(sh.key, uint64(len(m[k])))
			sh.key = append(sh.key, m[k]...)
		}
		if c, ok := sh.maps[string(sh.key)]; ok {
			f.Set(reflect.ValueOf(c))
		} else {
			sh.maps[string(sh.key)] = m
		}
	}
}
