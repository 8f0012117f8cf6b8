package spanfile

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// Decode errors. A *DecodeError wraps exactly one of them; match with
// errors.Is.
var (
	// ErrTruncated: the line ends before its JSON value does. This is what
	// a write cut short by a crash leaves behind (a torn line).
	ErrTruncated = errors.New("line ends before the JSON value does (torn write)")
	// ErrSyntax: the line is not valid JSON.
	ErrSyntax = errors.New("invalid JSON")
	// ErrSchema: valid JSON that is not a version-1 span line.
	ErrSchema = errors.New("not a span line of this schema")
)

// DecodeError says where and why a line did not decode.
type DecodeError struct {
	Offset int   // byte offset in the line
	Kind   error // ErrTruncated, ErrSyntax or ErrSchema
	Msg    string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("spanfile: %v: %s at byte %d", e.Kind, e.Msg, e.Offset)
}

func (e *DecodeError) Unwrap() error { return e.Kind }

// maxDepth bounds nesting inside unknown fields, so a hostile line cannot
// recurse deeply.
const maxDepth = 64

// Decoder decodes span lines. The zero value is ready to use. A Decoder
// reuses scratch buffers between calls and is not safe for concurrent use.
type Decoder struct {
	// Intern, if set, turns every decoded string (names, attribute keys and
	// string values) into a Go string. A model that keeps millions of spans
	// passes a function returning one shared copy per distinct string. The
	// byte slice is only valid during the call. Nil means string(b).
	Intern func(b []byte) string

	buf   []byte
	strs  []string
	nums  []number
	bools []bool
}

type number struct {
	i       int64
	f       float64
	isFloat bool
}

// Decode parses one line (without or with its trailing newline) into r,
// overwriting it. r's slices are reused: anything taken from a previous
// Decode into the same r must be copied first. Unknown fields are skipped;
// duplicate fields and attribute keys keep the last value.
func (d *Decoder) Decode(line []byte, r *Record) error {
	r.reset()
	s := dstate{b: line, d: d}
	if err := s.expect('{', "a JSON object"); err != nil {
		return err
	}
	const (
		hasV = 1 << iota
		hasTrace
		hasSpan
		hasName
		hasStart
		hasEnd
		hasAll = hasV | hasTrace | hasSpan | hasName | hasStart | hasEnd
	)
	have := 0
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "v":
			var v int64
			if v, err = s.integer(); err == nil && v != Version {
				return s.schema(fmt.Sprintf("unsupported schema version %d", v))
			}
			have |= hasV
		case "trace_id":
			err = s.hexID(r.TraceID[:])
			have |= hasTrace
		case "span_id":
			err = s.hexID(r.SpanID[:])
			have |= hasSpan
		case "parent_span_id":
			err = s.hexID(r.ParentSpanID[:])
		case "name":
			r.Name, err = s.str()
			have |= hasName
		case "kind":
			var b []byte
			if b, err = s.valueString(); err == nil {
				var ok bool
				if r.Kind, ok = kindFromName(b); !ok {
					return s.schema(fmt.Sprintf("unknown span kind %q", b))
				}
			}
		case "start":
			r.Start, err = s.integer()
			have |= hasStart
		case "end":
			r.End, err = s.integer()
			have |= hasEnd
		case "status":
			var b []byte
			if b, err = s.valueString(); err == nil {
				switch string(b) {
				case "ok":
					r.StatusCode = codes.Ok
				case "error":
					r.StatusCode = codes.Error
				case "unset":
					r.StatusCode = codes.Unset
				default:
					return s.schema(fmt.Sprintf("unknown status %q", b))
				}
			}
		case "status_msg":
			r.StatusMessage, err = s.str()
		case "service":
			r.Service, err = s.str()
		case "instance":
			r.Instance, err = s.str()
		case "scope":
			r.Scope, err = s.str()
		case "attrs":
			r.Attrs, err = s.attrs(r.Attrs[:0])
		case "events":
			err = s.events(r)
		case "links":
			err = s.links(r)
		case "dropped":
			r.Dropped, err = s.integer()
		default:
			err = s.skip(0)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return s.syntax("data after the span object")
	}
	if have != hasAll {
		for _, f := range []struct {
			bit  int
			name string
		}{{hasV, "v"}, {hasTrace, "trace_id"}, {hasSpan, "span_id"}, {hasName, "name"}, {hasStart, "start"}, {hasEnd, "end"}} {
			if have&f.bit == 0 {
				return s.schema("missing field " + f.name)
			}
		}
	}
	if !r.TraceID.IsValid() {
		return s.schema("zero trace_id")
	}
	if !r.SpanID.IsValid() {
		return s.schema("zero span_id")
	}
	return nil
}

// Decode decodes one line into a new Record.
func Decode(line []byte) (Record, error) {
	var d Decoder
	var r Record
	err := d.Decode(line, &r)
	return r, err
}

type dstate struct {
	b []byte
	i int
	d *Decoder
}

func (s *dstate) errAt(kind error, msg string) error {
	return &DecodeError{Offset: s.i, Kind: kind, Msg: msg}
}
func (s *dstate) eof() error              { return s.errAt(ErrTruncated, "unexpected end of line") }
func (s *dstate) syntax(msg string) error { return s.errAt(ErrSyntax, msg) }
func (s *dstate) schema(msg string) error { return s.errAt(ErrSchema, msg) }

func (s *dstate) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte without consuming it.
func (s *dstate) next() (byte, error) {
	s.ws()
	if s.i >= len(s.b) {
		return 0, s.eof()
	}
	return s.b[s.i], nil
}

func (s *dstate) consume(c byte) error {
	got, err := s.next()
	if err != nil {
		return err
	}
	if got != c {
		return s.syntax(fmt.Sprintf("expected %q, found %q", c, got))
	}
	s.i++
	return nil
}

// object parses a JSON object, calling fn for each member with the key; fn
// must consume the value. key is only valid until fn parses another string.
func (s *dstate) object(fn func(key []byte) error) error {
	if err := s.consume('{'); err != nil {
		return err
	}
	c, err := s.next()
	if err != nil {
		return err
	}
	if c == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if err := s.consume(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		c, err := s.next()
		if err != nil {
			return err
		}
		s.i++
		switch c {
		case ',':
		case '}':
			return nil
		default:
			s.i--
			return s.syntax(fmt.Sprintf("expected ',' or '}', found %q", c))
		}
	}
}

// array parses a JSON array, calling fn positioned at each element.
func (s *dstate) array(fn func() error) error {
	if err := s.consume('['); err != nil {
		return err
	}
	c, err := s.next()
	if err != nil {
		return err
	}
	if c == ']' {
		s.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		c, err := s.next()
		if err != nil {
			return err
		}
		s.i++
		switch c {
		case ',':
		case ']':
			return nil
		default:
			s.i--
			return s.syntax(fmt.Sprintf("expected ',' or ']', found %q", c))
		}
	}
}

func (s *dstate) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s.d.Intern != nil {
		return s.d.Intern(b)
	}
	return string(b)
}

func (s *dstate) str() (string, error) {
	b, err := s.valueString()
	if err != nil {
		return "", err
	}
	return s.intern(b), nil
}

// expect checks that the next value starts with c; a value of another JSON
// type is skipped and reported as a schema error.
func (s *dstate) expect(c byte, what string) error {
	got, err := s.next()
	if err != nil {
		return err
	}
	if got != c {
		return s.skipThen("expected " + what)
	}
	return nil
}

// valueString is rawString for a value (not a key): another JSON type is a
// schema error.
func (s *dstate) valueString() ([]byte, error) {
	if err := s.expect('"', "a string"); err != nil {
		return nil, err
	}
	return s.rawString()
}

// rawString parses a JSON string and returns its unescaped bytes, which
// alias the line or the decoder's scratch buffer (valid until the next
// string is parsed).
func (s *dstate) rawString() ([]byte, error) {
	c, err := s.next()
	if err != nil {
		return nil, err
	}
	if c != '"' {
		return nil, s.syntax(fmt.Sprintf("expected a string, found %q", c))
	}
	s.i++
	start := s.i
	b := s.b
	i := s.i
	for i < len(b) && !strSpecial[b[i]] {
		i++
	}
	s.i = i
	if i >= len(b) {
		return nil, s.eof()
	}
	if b[i] == '"' {
		s.i++
		return b[start:i], nil
	}
	return s.slowString(start)
}

// strSpecial marks the bytes that end the fast path of rawString: the
// closing quote, escapes, control characters and non-ASCII bytes.
var strSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// slowString finishes a string that has escapes, control characters or
// non-ASCII bytes, with encoding/json's rules: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func (s *dstate) slowString(start int) ([]byte, error) {
	buf := append(s.d.buf[:0], s.b[start:s.i]...)
	defer func() { s.d.buf = buf[:0] }()
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return buf, nil
		case c < 0x20:
			return nil, s.syntax("control character in string")
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, s.eof()
			}
			e := s.b[s.i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := s.hex4(s.i + 2)
				if err != nil {
					return nil, err
				}
				s.i += 6
				if utf16.IsSurrogate(r) {
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						if r2, err := s.hex4(s.i + 2); err == nil {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								s.i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				s.i++
				return nil, s.syntax(fmt.Sprintf("invalid escape \\%c", e))
			}
			s.i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, s.b[s.i:s.i+size]...)
			}
			s.i += size
		}
	}
	return nil, s.eof()
}

func (s *dstate) hex4(at int) (rune, error) {
	var r rune
	for k := range 4 {
		if at+k >= len(s.b) {
			return 0, s.eof()
		}
		c := s.b[at+k]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, s.syntax("invalid \\u escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// number scans a JSON number and reports whether it has a fraction or an
// exponent.
func (s *dstate) number() (raw []byte, isFloat bool, err error) {
	s.ws()
	start := s.i
	b := s.b
	digits := func() error {
		if s.i >= len(b) {
			return s.eof()
		}
		if b[s.i] < '0' || b[s.i] > '9' {
			return s.syntax("expected a digit")
		}
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
		return nil
	}
	if s.i < len(b) && b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(b) {
		return nil, false, s.eof()
	}
	switch c := b[s.i]; {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
	default:
		return nil, false, s.syntax(fmt.Sprintf("invalid character %q", c))
	}
	if s.i < len(b) && b[s.i] == '.' {
		s.i++
		isFloat = true
		if err := digits(); err != nil {
			return nil, false, err
		}
	}
	if s.i < len(b) && (b[s.i] == 'e' || b[s.i] == 'E') {
		s.i++
		isFloat = true
		if s.i < len(b) && (b[s.i] == '+' || b[s.i] == '-') {
			s.i++
		}
		if err := digits(); err != nil {
			return nil, false, err
		}
	}
	return b[start:s.i], isFloat, nil
}

// integer parses a JSON number that must be an int64.
func (s *dstate) integer() (int64, error) {
	c, err := s.next()
	if err != nil {
		return 0, err
	}
	if c != '-' && (c < '0' || c > '9') {
		return 0, s.skipThen("expected an integer")
	}
	raw, isFloat, err := s.number()
	if err != nil {
		return 0, err
	}
	if isFloat {
		return 0, s.schema("expected an integer, found " + string(raw))
	}
	n, ok := parseInt(raw)
	if !ok {
		return 0, s.schema("integer out of range: " + string(raw))
	}
	return n, nil
}

// skipThen skips the value at the cursor and returns a schema error, or
// the syntax/truncation error found while skipping (so a torn line is
// still reported as torn).
func (s *dstate) skipThen(msg string) error {
	at := s.i
	if err := s.skip(0); err != nil {
		return err
	}
	s.i = at
	return s.schema(msg)
}

// parseInt parses the integer text of a valid JSON number.
func parseInt(raw []byte) (int64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit = 1 << 63
	}
	var u uint64
	for _, c := range raw {
		d := uint64(c - '0')
		if u > (limit-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		return int64(-u), true //nolint:gosec // -(1<<63) wraps to MinInt64 as intended
	}
	return int64(u), true
}

func (s *dstate) literal(word string) error {
	for k := range len(word) {
		if s.i+k >= len(s.b) {
			return s.eof()
		}
		if s.b[s.i+k] != word[k] {
			s.i += k
			return s.syntax(fmt.Sprintf("invalid literal, expected %q", word))
		}
	}
	s.i += len(word)
	return nil
}

// skip consumes any JSON value.
func (s *dstate) skip(depth int) error {
	if depth > maxDepth {
		return s.schema("nesting too deep")
	}
	c, err := s.next()
	if err != nil {
		return err
	}
	switch {
	case c == '"':
		_, err := s.rawString()
		return err
	case c == '{':
		return s.object(func([]byte) error { return s.skip(depth + 1) })
	case c == '[':
		return s.array(func() error { return s.skip(depth + 1) })
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, _, err := s.number()
		return err
	default:
		return s.syntax(fmt.Sprintf("invalid character %q", c))
	}
}

func (s *dstate) hexID(dst []byte) error {
	b, err := s.valueString()
	if err != nil {
		return err
	}
	if len(b) != 2*len(dst) {
		return s.schema(fmt.Sprintf("id must be %d hex digits, found %q", 2*len(dst), b))
	}
	if _, err := hex.Decode(dst, b); err != nil {
		return s.schema(fmt.Sprintf("id is not hex: %q", b))
	}
	return nil
}

func (s *dstate) attrs(dst []attribute.KeyValue) ([]attribute.KeyValue, error) {
	// seen is a 64-bit filter over the keys so far: the duplicate scan only
	// runs when a key's bit is already set.
	var seen uint64
	if err := s.expect('{', "an attribute object"); err != nil {
		return dst, err
	}
	err := s.object(func(rawKey []byte) error {
		if len(rawKey) == 0 {
			return s.skipThen("empty attribute key")
		}
		key := attribute.Key(s.intern(rawKey))
		v, err := s.value()
		if err != nil {
			return err
		}
		bit := uint64(1)
		if n := len(key); n > 0 {
			bit <<= (uint(n)*7 + uint(key[n-1]) + uint(key[0])*3) & 63
		}
		if seen&bit != 0 {
			for i := range dst {
				if dst[i].Key == key {
					dst[i].Value = v
					return nil
				}
			}
		}
		seen |= bit
		dst = append(dst, attribute.KeyValue{Key: key, Value: v})
		return nil
	})
	return dst, err
}

// value parses an attribute value; the JSON type picks the attribute type.
func (s *dstate) value() (attribute.Value, error) {
	c, err := s.next()
	if err != nil {
		return attribute.Value{}, err
	}
	switch {
	case c == '"':
		str, err := s.str()
		return attribute.StringValue(str), err
	case c == 't':
		return attribute.BoolValue(true), s.literal("true")
	case c == 'f':
		return attribute.BoolValue(false), s.literal("false")
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := s.num()
		if err != nil {
			return attribute.Value{}, err
		}
		if n.isFloat {
			return attribute.Float64Value(n.f), nil
		}
		return attribute.Int64Value(n.i), nil
	case c == '[':
		return s.slice()
	case c == 'n' || c == '{':
		return attribute.Value{}, s.skipThen("attribute value must be a string, number, bool or array")
	default:
		return attribute.Value{}, s.syntax(fmt.Sprintf("invalid character %q", c))
	}
}

func (s *dstate) num() (number, error) {
	raw, isFloat, err := s.number()
	if err != nil {
		return number{}, err
	}
	if !isFloat {
		n, ok := parseInt(raw)
		if !ok {
			return number{}, s.schema("integer out of range: " + string(raw))
		}
		return number{i: n}, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return number{}, s.schema("float out of range: " + string(raw))
	}
	return number{f: f, isFloat: true}, nil
}

// slice parses a homogeneous array: strings, bools or numbers (a float64
// slice if any element has a fraction or exponent, else int64). An empty
// array is an empty string slice.
func (s *dstate) slice() (attribute.Value, error) {
	const (
		none = iota
		strs
		bools
		nums
	)
	d := s.d
	d.strs, d.bools, d.nums = d.strs[:0], d.bools[:0], d.nums[:0]
	kind := none
	anyFloat := false
	mixed := func() error { return s.skipThen("array attribute mixes element types") }
	err := s.array(func() error {
		c, err := s.next()
		if err != nil {
			return err
		}
		var k int
		switch {
		case c == '"':
			k = strs
		case c == 't' || c == 'f':
			k = bools
		case c == '-' || (c >= '0' && c <= '9'):
			k = nums
		case c == '[' || c == '{' || c == 'n':
			return s.skipThen("array attribute elements must be strings, numbers or bools")
		default:
			return s.syntax(fmt.Sprintf("invalid character %q", c))
		}
		if kind != none && k != kind {
			return mixed()
		}
		kind = k
		switch k {
		case strs:
			str, err := s.str()
			d.strs = append(d.strs, str)
			return err
		case bools:
			if c == 't' {
				d.bools = append(d.bools, true)
				return s.literal("true")
			}
			d.bools = append(d.bools, false)
			return s.literal("false")
		default:
			n, err := s.num()
			anyFloat = anyFloat || n.isFloat
			d.nums = append(d.nums, n)
			return err
		}
	})
	if err != nil {
		return attribute.Value{}, err
	}
	switch kind {
	case bools:
		return attribute.BoolSliceValue(d.bools), nil
	case nums:
		if anyFloat {
			fs := make([]float64, len(d.nums))
			for i, n := range d.nums {
				fs[i] = n.f
				if !n.isFloat {
					fs[i] = float64(n.i)
				}
			}
			return attribute.Float64SliceValue(fs), nil
		}
		is := make([]int64, len(d.nums))
		for i, n := range d.nums {
			is[i] = n.i
		}
		return attribute.Int64SliceValue(is), nil
	default:
		return attribute.StringSliceValue(d.strs), nil
	}
}

func (s *dstate) events(r *Record) error {
	r.Events = r.Events[:0]
	if err := s.expect('[', "an array of events"); err != nil {
		return err
	}
	return s.array(func() error {
		if err := s.expect('{', "an event object"); err != nil {
			return err
		}
		n := len(r.Events)
		if n < cap(r.Events) {
			r.Events = r.Events[:n+1]
			r.Events[n] = Event{Attrs: r.Events[n].Attrs[:0]}
		} else {
			r.Events = append(r.Events, Event{})
		}
		e := &r.Events[n]
		hasName, hasTime := false, false
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "name":
				e.Name, err = s.str()
				hasName = true
			case "time":
				e.Time, err = s.integer()
				hasTime = true
			case "attrs":
				e.Attrs, err = s.attrs(e.Attrs[:0])
			default:
				err = s.skip(0)
			}
			return err
		})
		if err == nil && (!hasName || !hasTime) {
			return s.schema("event needs name and time")
		}
		return err
	})
}

func (s *dstate) links(r *Record) error {
	r.Links = r.Links[:0]
	if err := s.expect('[', "an array of links"); err != nil {
		return err
	}
	return s.array(func() error {
		if err := s.expect('{', "a link object"); err != nil {
			return err
		}
		n := len(r.Links)
		if n < cap(r.Links) {
			r.Links = r.Links[:n+1]
			r.Links[n] = Link{Attrs: r.Links[n].Attrs[:0]}
		} else {
			r.Links = append(r.Links, Link{})
		}
		l := &r.Links[n]
		hasTrace, hasSpan := false, false
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "trace_id":
				err = s.hexID(l.TraceID[:])
				hasTrace = true
			case "span_id":
				err = s.hexID(l.SpanID[:])
				hasSpan = true
			case "attrs":
				l.Attrs, err = s.attrs(l.Attrs[:0])
			default:
				err = s.skip(0)
			}
			return err
		})
		if err == nil && (!hasTrace || !hasSpan) {
			return s.schema("link needs trace_id and span_id")
		}
		return err
	})
}
