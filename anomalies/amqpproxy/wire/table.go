package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// Table is an AMQP field table. Values are one of: bool, int8, uint8, int16,
// uint16, int32, uint32, int64, float32, float64, Decimal, string, []byte,
// []any (of the same types), time.Time, Table, or nil.
type Table map[string]any

// Decimal is the AMQP decimal value: Value / 10^Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// AppendTable appends t as a field table (length-prefixed, keys sorted).
func AppendTable(dst []byte, t Table) ([]byte, error) {
	return appendTable(dst, t, 0)
}

func appendTable(dst []byte, t Table, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, fmt.Errorf("table nested deeper than %d", maxDepth)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var err error
	for _, k := range keys {
		if len(k) > 255 {
			return dst[:start], fmt.Errorf("table key %.20q...: longer than 255 bytes", k)
		}
		dst = appendShortstr(dst, k)
		if dst, err = appendValue(dst, t[k], depth); err != nil {
			return dst[:start], fmt.Errorf("table key %q: %w", k, err)
		}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return append(dst, 't', b), nil
	case int8:
		return append(dst, 'b', byte(v)), nil
	case uint8:
		return append(dst, 'B', v), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(dst, 's'), uint16(v)), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(dst, 'u'), v), nil
	case int32:
		return binary.BigEndian.AppendUint32(append(dst, 'I'), uint32(v)), nil
	case uint32:
		return binary.BigEndian.AppendUint32(append(dst, 'i'), v), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(dst, 'l'), uint64(v)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, 'f'), math.Float32bits(v)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, 'd'), math.Float64bits(v)), nil
	case Decimal:
		return binary.BigEndian.AppendUint32(append(dst, 'D', v.Scale), uint32(v.Value)), nil
	case string:
		return appendLongstr(append(dst, 'S'), v), nil
	case []byte:
		dst = binary.BigEndian.AppendUint32(append(dst, 'x'), uint32(len(v)))
		return append(dst, v...), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(append(dst, 'T'), uint64(v.Unix())), nil
	case Table:
		return appendTable(append(dst, 'F'), v, depth+1)
	case []any:
		return appendArray(append(dst, 'A'), v, depth+1)
	case nil:
		return append(dst, 'V'), nil
	default:
		return dst, fmt.Errorf("unsupported field value type %T", v)
	}
}

func appendArray(dst []byte, a []any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, fmt.Errorf("array nested deeper than %d", maxDepth)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	var err error
	for i, v := range a {
		if dst, err = appendValue(dst, v, depth); err != nil {
			return dst[:start], fmt.Errorf("array item %d: %w", i, err)
		}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

// ParseTable decodes a length-prefixed field table at the start of b and
// reports the bytes used.
func ParseTable(b []byte) (Table, int, error) {
	d := &decoder{b: b}
	t := d.table(0)
	return t, d.off, d.err
}

func (d *decoder) table(depth int) Table {
	raw := d.longstrBytes()
	if d.err != nil {
		return nil
	}
	if depth > maxDepth {
		d.fail("table nesting")
		return nil
	}
	t := Table{}
	in := &decoder{b: raw}
	for in.err == nil && in.off < len(raw) {
		k := in.shortstr()
		v := in.value(depth)
		if in.err == nil {
			t[k] = v
		}
	}
	if in.err != nil {
		d.err = in.err
		return nil
	}
	return t
}

func (d *decoder) array(depth int) []any {
	raw := d.longstrBytes()
	if d.err != nil {
		return nil
	}
	if depth > maxDepth {
		d.fail("array nesting")
		return nil
	}
	a := []any{}
	in := &decoder{b: raw}
	for in.err == nil && in.off < len(raw) {
		v := in.value(depth)
		if in.err == nil {
			a = append(a, v)
		}
	}
	if in.err != nil {
		d.err = in.err
		return nil
	}
	return a
}

func (d *decoder) value(depth int) any {
	switch kind := d.u8(); kind {
	case 't':
		return d.u8() != 0
	case 'b':
		return int8(d.u8())
	case 'B':
		return d.u8()
	case 's':
		return int16(d.u16())
	case 'u':
		return d.u16()
	case 'I':
		return int32(d.u32())
	case 'i':
		return d.u32()
	case 'l':
		return int64(d.u64())
	case 'f':
		return math.Float32frombits(d.u32())
	case 'd':
		return math.Float64frombits(d.u64())
	case 'D':
		scale := d.u8()
		return Decimal{Scale: scale, Value: int32(d.u32())}
	case 'S':
		return d.longstr()
	case 'x':
		return append([]byte{}, d.longstrBytes()...)
	case 'T':
		return time.Unix(int64(d.u64()), 0).UTC()
	case 'F':
		return d.table(depth + 1)
	case 'A':
		return d.array(depth + 1)
	case 'V':
		return nil
	default:
		if d.err == nil {
			d.off--
			d.fail(fmt.Sprintf("field value type %q", kind))
		}
		return nil
	}
}
