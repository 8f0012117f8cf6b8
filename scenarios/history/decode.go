package history

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// errSlowPath says a line holds something decodeEventFast leaves to
// encoding/json: an escape, a null, an unknown key, a number that is not a
// plain integer, invalid UTF-8 or a syntax error.
var errSlowPath = errors.New("not on the fast path")

// decodeEvent decodes one events.jsonl line into e (overwriting it), with
// the result encoding/json gives. Lines as Save writes them take a
// hand-written path that allocates only for strings intern has not seen
// (the effect keys reuse e.EffectKeys' array); anything else goes through
// json.Unmarshal, whose error is returned.
func decodeEvent(line []byte, e *Event, intern func([]byte) string) error {
	keys := e.EffectKeys[:0]
	*e = Event{}
	if decodeEventFast(line, e, keys, intern) == nil {
		return nil
	}
	*e = Event{}
	if err := json.Unmarshal(line, e); err != nil {
		return err
	}
	in := func(p *string) {
		if *p != "" {
			*p = intern([]byte(*p))
		}
	}
	for _, p := range []*string{&e.Kind, &e.Name, &e.Service, &e.Instance, &e.MessageID, &e.MessageType,
		&e.CorrelationID, &e.CausationID, &e.Destination, &e.RoutingKey, &e.AggregateID, &e.Dedup,
		&e.Order, &e.Outcome, &e.Tx, &e.PublishVia, &e.Confirm, &e.Error} {
		in(p)
	}
	for i := range e.EffectKeys {
		in(&e.EffectKeys[i])
	}
	return nil
}

// lineScanner reads the JSON of one event line.
type lineScanner struct {
	b      []byte
	i      int
	keyBuf []string // array for the effect keys
}

func (s *lineScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c after white space.
func (s *lineScanner) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string without escapes and returns its bytes (aliasing the
// line); anything else is errSlowPath.
func (s *lineScanner) str() ([]byte, error) {
	if !s.eat('"') {
		return nil, errSlowPath
	}
	start := s.i
	ascii := true
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c == '"':
			b := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(b) {
				return nil, errSlowPath
			}
			return b, nil
		case c == '\\' || c < 0x20:
			return nil, errSlowPath
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, errSlowPath
}

// quoted returns the string token at the cursor with its quotes.
func (s *lineScanner) quoted() ([]byte, error) {
	s.ws()
	start := s.i
	if _, err := s.str(); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// integer reads a JSON integer (no fraction or exponent) that fits bits.
func (s *lineScanner) integer(bits int) (int64, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, errSlowPath
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, errSlowPath
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, bits)
	if err != nil {
		return 0, errSlowPath
	}
	return n, nil
}

func (s *lineScanner) boolean() (bool, error) {
	s.ws()
	rest := s.b[s.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		s.i += 4
		return true, nil
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.i += 5
		return false, nil
	}
	return false, errSlowPath
}

// decodeEventFast decodes a line whose keys are Event's JSON names exactly
// and whose values are of their field's JSON type, without escapes or nulls;
// any other line is errSlowPath (and e is left half-filled).
func decodeEventFast(line []byte, e *Event, keys []string, intern func([]byte) string) error {
	s := lineScanner{b: line, keyBuf: keys}
	if err := s.object(func(key []byte) error { return s.field(string(key), e, intern) }); err != nil {
		return err
	}
	return s.end()
}

// object reads an object, calling each with every key once the scanner
// stands at its value; each must read the value. Anything but an object
// of string keys is errSlowPath.
func (s *lineScanner) object(each func(key []byte) error) error {
	if !s.eat('{') {
		return errSlowPath
	}
	if s.eat('}') {
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if !s.eat(':') {
			return errSlowPath
		}
		if err := each(key); err != nil {
			return err
		}
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return nil
		}
		return errSlowPath
	}
}

func (s *lineScanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errSlowPath
	}
	return nil
}

func (s *lineScanner) field(key string, e *Event, intern func([]byte) string) error {
	var p *string
	switch key {
	case "kind":
		p = &e.Kind
	case "name":
		p = &e.Name
	case "service":
		p = &e.Service
	case "instance":
		p = &e.Instance
	case "messageId":
		p = &e.MessageID
	case "messageType":
		p = &e.MessageType
	case "correlationId":
		p = &e.CorrelationID
	case "causationId":
		p = &e.CausationID
	case "destination":
		p = &e.Destination
	case "routingKey":
		p = &e.RoutingKey
	case "aggregateId":
		p = &e.AggregateID
	case "dedup":
		p = &e.Dedup
	case "order":
		p = &e.Order
	case "outcome":
		p = &e.Outcome
	case "tx":
		p = &e.Tx
	case "via":
		p = &e.PublishVia
	case "confirm":
		p = &e.Confirm
	case "error":
		p = &e.Error
	case "start", "end":
		q, err := s.quoted()
		if err != nil {
			return err
		}
		t := &e.Start
		if key == "end" {
			t = &e.End
		}
		if t.UnmarshalJSON(q) != nil {
			return errSlowPath
		}
		return nil
	case "traceId", "spanId", "parentId":
		b, err := s.str()
		if err != nil {
			return err
		}
		switch key {
		case "traceId":
			err = e.TraceID.UnmarshalText(b)
		case "spanId":
			err = e.SpanID.UnmarshalText(b)
		default:
			err = e.ParentID.UnmarshalText(b)
		}
		if err != nil {
			return errSlowPath
		}
		return nil
	case "aggregateVersion":
		n, err := s.integer(64)
		e.AggregateVersion = n
		return err
	case "attempt", "republish":
		n, err := s.integer(strconv.IntSize)
		if key == "attempt" {
			e.Attempt = int(n)
		} else {
			e.Republish = int(n)
		}
		return err
	case "redelivered":
		v, err := s.boolean()
		e.Redelivered = v
		return err
	case "effectKeys":
		return s.keys(e, intern)
	default:
		return errSlowPath
	}
	b, err := s.str()
	if err != nil {
		return err
	}
	*p = intern(b)
	return nil
}

// keys reads the effect keys array.
func (s *lineScanner) keys(e *Event, intern func([]byte) string) error {
	if !s.eat('[') {
		return errSlowPath
	}
	e.EffectKeys = s.keyBuf[:0]
	if e.EffectKeys == nil {
		e.EffectKeys = []string{}
	}
	if s.eat(']') {
		return nil
	}
	for {
		b, err := s.str()
		if err != nil {
			return err
		}
		e.EffectKeys = append(e.EffectKeys, intern(b))
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return nil
		}
		return errSlowPath
	}
}
