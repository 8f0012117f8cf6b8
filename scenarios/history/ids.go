package history

import (
	"encoding/hex"
	"fmt"
)

// TraceID is a W3C trace id. It is stored as 16 bytes (not a string) so that a
// history of a million spans stays small in memory; JSON carries it as 32 hex digits.
type TraceID [16]byte

// SpanID is a W3C span id, 8 bytes, 16 hex digits in JSON.
type SpanID [8]byte

// IsZero reports whether the id is unset (all zero bytes, as in W3C).
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports whether the id is unset.
func (s SpanID) IsZero() bool { return s == SpanID{} }

func (t TraceID) String() string {
	if t.IsZero() {
		return ""
	}
	return hex.EncodeToString(t[:])
}

func (s SpanID) String() string {
	if s.IsZero() {
		return ""
	}
	return hex.EncodeToString(s[:])
}

// MarshalText encodes the id as lowercase hex; the zero id encodes as "".
func (t TraceID) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes 32 hex digits; "" is the zero id.
func (t *TraceID) UnmarshalText(b []byte) error { return decodeHexID(t[:], b, "trace") }

// MarshalText encodes the id as lowercase hex; the zero id encodes as "".
func (s SpanID) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes 16 hex digits; "" is the zero id.
func (s *SpanID) UnmarshalText(b []byte) error { return decodeHexID(s[:], b, "span") }

// ParseTraceID parses 32 hex digits ("" gives the zero id).
func ParseTraceID(s string) (TraceID, error) {
	var t TraceID
	err := t.UnmarshalText([]byte(s))
	return t, err
}

// ParseSpanID parses 16 hex digits ("" gives the zero id).
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	err := id.UnmarshalText([]byte(s))
	return id, err
}

func decodeHexID(dst, src []byte, what string) error {
	if len(src) == 0 {
		clear(dst)
		return nil
	}
	if len(src) != 2*len(dst) {
		return fmt.Errorf("%s id %q: want %d hex digits", what, src, 2*len(dst))
	}
	if _, err := hex.Decode(dst, src); err != nil {
		return fmt.Errorf("%s id %q: %w", what, src, err)
	}
	return nil
}
