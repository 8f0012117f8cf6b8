package history

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
)

// decodeRecord decodes a workload record into r, which must be zero, with
// the result of json.Unmarshal followed by sh.share: records as Save
// writes them take decodeRecordFast, anything else json.Unmarshal, whose
// error is returned.
func decodeRecord(b []byte, r *Record, sh *sharer) error {
	if decodeRecordFast(b, r, sh) == nil {
		return nil
	}
	*r = Record{}
	if err := json.Unmarshal(b, r); err != nil {
		return err
	}
	sh.share(reflect.ValueOf(r).Elem())
	return nil
}

// decodeRecordFast decodes a workload record into r, which must be zero,
// as json.Unmarshal followed by sh.share would: for a record whose keys
// are Record's JSON names exactly (attrs at most once, without a repeated
// key) and whose values are of their field's JSON type, without escapes or
// nulls. Kind and ID are looked up in sh before a string is made, and the
// attributes before a map is. Any other record is errSlowPath (and r is
// left half-filled).
func decodeRecordFast(b []byte, r *Record, sh *sharer) error {
	s := lineScanner{b: b}
	attrs := false
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "kind", "id":
			v, err := s.str()
			if err != nil {
				return err
			}
			p := &r.Kind
			if string(key) == "id" {
				p = &r.ID
			}
			*p = sh.string(v)
		case "at":
			q, err := s.quoted()
			if err != nil {
				return err
			}
			if r.At.UnmarshalJSON(q) != nil {
				return errSlowPath
			}
		case "accepted":
			v, err := s.boolean()
			if err != nil {
				return err
			}
			r.Accepted = v
		case "status":
			n, err := s.integer(strconv.IntSize)
			if err != nil {
				return err
			}
			r.Status = int(n)
		case "traceId":
			v, err := s.str()
			if err != nil {
				return err
			}
			if r.TraceID.UnmarshalText(v) != nil {
				return errSlowPath
			}
		case "attrs":
			if attrs { // encoding/json merges a second object into the first
				return errSlowPath
			}
			attrs = true
			m, err := s.attrs(sh)
			if err != nil {
				return err
			}
			r.Attrs = m
		default:
			return errSlowPath
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.end()
}

// string returns sh's copy of b, adding one when it has none.
func (sh *sharer) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if c, ok := sh.strs[string(b)]; ok {
		return c
	}
	c := string(b)
	sh.strs[c] = c
	return c
}

// attrs reads an object of strings into a map: an empty one for {}, else
// the first equal map sh was shown (see sharer.share) or a new one.
func (s *lineScanner) attrs(sh *sharer) (map[string]string, error) {
	pairs := sh.pairs[:0]
	err := s.object(func(k []byte) error {
		v, err := s.str()
		if err != nil {
			return err
		}
		pairs = append(pairs, [2][]byte{k, v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sh.pairs = pairs
	if len(pairs) == 0 {
		return map[string]string{}, nil
	}
	slices.SortFunc(pairs, func(a, b [2][]byte) int { return bytes.Compare(a[0], b[0]) })
	sh.key = sh.key[:0]
	for i, p := range pairs {
		if i > 0 && bytes.Equal(pairs[i-1][0], p[0]) { // encoding/json keeps the last
			return nil, errSlowPath
		}
		sh.key = binary.AppendUvarint(sh.key, uint64(len(p[0])))
		sh.key = append(sh.key, p[0]...)
		sh.key = binary.AppendUvarint(sh.key, uint64(len(p[1])))
		sh.key = append(sh.key, p[1]...)
	}
	if c, ok := sh.maps[string(sh.key)]; ok {
		return c, nil
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[string(p[0])] = string(p[1])
	}
	sh.maps[string(sh.key)] = m
	return m, nil
}
