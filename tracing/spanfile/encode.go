package spanfile

import (
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// AppendRecord appends r as one JSON line, newline included, to dst. The
// output is canonical: decoding it and appending the result again yields the
// same bytes.
func AppendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, Version, 10)
	dst = append(dst, `,"trace_id":`...)
	dst = appendHex(dst, r.TraceID[:])
	dst = append(dst, `,"span_id":`...)
	dst = appendHex(dst, r.SpanID[:])
	if r.ParentSpanID.IsValid() {
		dst = append(dst, `,"parent_span_id":`...)
		dst = appendHex(dst, r.ParentSpanID[:])
	}
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, r.Name)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, kindName(r.Kind)...)
	dst = append(dst, `","start":`...)
	dst = strconv.AppendInt(dst, r.Start, 10)
	dst = append(dst, `,"end":`...)
	dst = strconv.AppendInt(dst, r.End, 10)
	switch r.StatusCode {
	case codes.Ok:
		dst = append(dst, `,"status":"ok"`...)
	case codes.Error:
		dst = append(dst, `,"status":"error"`...)
	}
	if r.StatusMessage != "" {
		dst = append(dst, `,"status_msg":`...)
		dst = appendString(dst, r.StatusMessage)
	}
	dst = appendOptString(dst, `,"service":`, r.Service)
	dst = appendOptString(dst, `,"instance":`, r.Instance)
	dst = appendOptString(dst, `,"scope":`, r.Scope)
	if anyValid(r.Attrs) {
		dst = append(dst, `,"attrs":`...)
		dst = appendAttrs(dst, r.Attrs)
	}
	if len(r.Events) > 0 {
		dst = append(dst, `,"events":[`...)
		for i := range r.Events {
			e := &r.Events[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = appendString(dst, e.Name)
			dst = append(dst, `,"time":`...)
			dst = strconv.AppendInt(dst, e.Time, 10)
			if anyValid(e.Attrs) {
				dst = append(dst, `,"attrs":`...)
				dst = appendAttrs(dst, e.Attrs)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if len(r.Links) > 0 {
		dst = append(dst, `,"links":[`...)
		for i := range r.Links {
			l := &r.Links[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"trace_id":`...)
			dst = appendHex(dst, l.TraceID[:])
			dst = append(dst, `,"span_id":`...)
			dst = appendHex(dst, l.SpanID[:])
			if anyValid(l.Attrs) {
				dst = append(dst, `,"attrs":`...)
				dst = appendAttrs(dst, l.Attrs)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if r.Dropped > 0 {
		dst = append(dst, `,"dropped":`...)
		dst = strconv.AppendInt(dst, r.Dropped, 10)
	}
	return append(dst, "}\n"...)
}

func anyValid(kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if kv.Valid() {
			return true
		}
	}
	return false
}

func appendOptString(dst []byte, field, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, field...)
	return appendString(dst, s)
}

func appendHex(dst, id []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, id)
	return append(dst, '"')
}

// appendAttrs writes a JSON object; the JSON type of each value carries the
// attribute type (see the package documentation).
func appendAttrs(dst []byte, kvs []attribute.KeyValue) []byte {
	dst = append(dst, '{')
	first := true
	for _, kv := range kvs {
		if !kv.Valid() {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, string(kv.Key))
		dst = append(dst, ':')
		dst = appendValue(dst, kv.Value)
	}
	return append(dst, '}')
}

func appendValue(dst []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return strconv.AppendBool(dst, v.AsBool())
	case attribute.INT64:
		return strconv.AppendInt(dst, v.AsInt64(), 10)
	case attribute.FLOAT64:
		return appendFloat(dst, v.AsFloat64())
	case attribute.STRING:
		return appendString(dst, v.AsString())
	case attribute.BOOLSLICE:
		dst = append(dst, '[')
		for i, b := range v.AsBoolSlice() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendBool(dst, b)
		}
		return append(dst, ']')
	case attribute.INT64SLICE:
		dst = append(dst, '[')
		for i, n := range v.AsInt64Slice() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, n, 10)
		}
		return append(dst, ']')
	case attribute.FLOAT64SLICE:
		dst = append(dst, '[')
		for i, f := range v.AsFloat64Slice() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendFloat(dst, f)
		}
		return append(dst, ']')
	case attribute.STRINGSLICE:
		dst = append(dst, '[')
		for i, s := range v.AsStringSlice() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']')
	default:
		return appendString(dst, v.Emit())
	}
}

// appendFloat writes f so that a reader can tell it from an integer: the
// text always holds a '.' or an exponent. JSON has no NaN or infinities; they
// are written as the strings "NaN", "+Inf" and "-Inf" (and read back as
// strings).
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' || c == 'E' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping like encoding/json
// (without HTML escaping): invalid UTF-8 becomes U+FFFD, and U+2028/U+2029
// are escaped so the text can be embedded in JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// kindOK reports whether k is a kind the schema names.
func kindOK(k trace.SpanKind) bool { return k >= trace.SpanKindInternal && k <= trace.SpanKindConsumer }
