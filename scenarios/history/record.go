package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"
)

// Record is one thing a system's workload (or its end-to-end probe) asked
// of the system, in a shape every system shares: the checkers hold the
// system to an accepted record, and a record whose outcome is unknown
// (no answer) to nothing.
type Record struct {
	// Kind is what was asked, in the system's words, e.g. "submit",
	// "qualify", "buy".
	Kind string `json:"kind"`
	// ID is the subject the request created or addressed (an inquiry id, a
	// ticket id, an order id).
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// Accepted is true when the system answered 2xx.
	Accepted bool `json:"accepted"`
	// Status is the HTTP status, 0 when none arrived.
	Status  int     `json:"status,omitempty"`
	TraceID TraceID `json:"traceId,omitzero"`
	// Attrs are the system's details of the request, e.g. language, email,
	// severity, price.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Count is one of the numbers a system sizes a run with in the journal and
// the report, e.g. {Name: "slaRecords", Label: "SLA records", N: 30, Of:
// CountSnapshot}.
type Count struct {
	Name  string // the journal's key, lowerCamelCase
	Label string // the report's column header ("" = Name)
	N     int
	// Of says what the count sizes: CountWorkload (what was asked) or
	// CountSnapshot (what the system stored); it places the count among
	// the lab's own (spans before the snapshot, dead letters last).
	Of string
}

// What a Count sizes.
const (
	CountWorkload = "workload"
	CountSnapshot = "snapshot"
)

// SystemSnapshot holds a system's own snapshot: the typed value its
// snapshotter returned or a test built, or, in a loaded history, the JSON it
// was saved as until SnapshotAs first decodes it. SnapshotAs gives the typed
// value either way. Copies of a SystemSnapshot share what they hold.
type SystemSnapshot struct{ v any }

// loadedSnapshot is the snapshot of a loaded history: its JSON (raw, or
// where it lies in the run file, not read until needed) until the first
// SnapshotAs, then the value decoded from it (and raw dropped, so that a
// judged history does not hold the snapshot twice).
type loadedSnapshot struct {
	mu      sync.Mutex
	raw     json.RawMessage // nil once decoded, or when in the file
	file    *fileSection    // where the JSON lies in the run file, or nil
	decoded any             // a *T, once decoded
}

// fileSection is a JSON value in a file, which must not have changed since
// it was read (size and modification time).
type fileSection struct {
	path      string
	off, n    int64
	size      int64
	modTimeNs int64
}

// open returns the section's bytes as a reader, after the white space and
// the colon that may precede the value; close closes the file.
func (f *fileSection) open() (r *bufio.Reader, close func() error, err error) {
	fd, err := os.Open(f.path)
	if err != nil {
		return nil, nil, fmt.Errorf("system snapshot: %w", err)
	}
	fi, err := fd.Stat()
	if err == nil && (fi.Size() != f.size || fi.ModTime().UnixNano() != f.modTimeNs) {
		err = fmt.Errorf("system snapshot: %s changed since the history was loaded", f.path)
	}
	if err != nil {
		fd.Close()
		return nil, nil, err
	}
	r = bufio.NewReaderSize(io.NewSectionReader(fd, f.off, f.n), 1<<20)
	for {
		c, err := r.ReadByte()
		if err != nil {
			fd.Close()
			return nil, nil, fmt.Errorf("system snapshot: %w", err)
		}
		if !bytes.ContainsRune([]byte(" \t\r\n:"), rune(c)) {
			r.UnreadByte()
			return r, fd.Close, nil
		}
	}
}

// NewSystemSnapshot wraps a system's snapshot value (a pointer to its
// snapshot type, so that SnapshotAs returns it as it is).
func NewSystemSnapshot(v any) SystemSnapshot { return SystemSnapshot{v: v} }

// IsZero reports whether no snapshot is held.
func (s SystemSnapshot) IsZero() bool { return s.v == nil }

// MarshalJSON writes the snapshot's JSON.
func (s SystemSnapshot) MarshalJSON() ([]byte, error) {
	if l, ok := s.v.(*loadedSnapshot); ok {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case l.raw != nil:
			return l.raw, nil
		case l.file != nil:
			if r, closeFile, err := l.file.open(); err == nil {
				defer closeFile()
				return io.ReadAll(r)
			} else if l.decoded == nil {
				return nil, err
			}
		}
		return json.Marshal(l.decoded)
	}
	return json.Marshal(s.v)
}

// UnmarshalJSON keeps the JSON for SnapshotAs (null holds nothing).
func (s *SystemSnapshot) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		s.v = nil
		return nil
	}
	s.v = &loadedSnapshot{raw: json.RawMessage(slices.Clone(b))}
	return nil
}

// SnapshotAs returns the snapshot as a *T: the value held or, for a loaded
// history, the value decoded from its JSON at the first call and returned
// by every later one (which drops the JSON; concurrent callers are safe and
// must not modify the value). It returns nil and no error when s holds
// nothing.
func SnapshotAs[T any](s *SystemSnapshot) (*T, error) {
	switch v := s.v.(type) {
	case nil:
		return nil, nil
	case *T:
		return v, nil
	case *loadedSnapshot:
		v.mu.Lock()
		defer v.mu.Unlock()
		if t, ok := v.decoded.(*T); ok {
			return t, nil
		}
		t := new(T)
		if v.raw == nil && v.file != nil && v.decoded == nil {
			// Streamed from the run file as LoadHeader reads it: no copy
			// of the whole JSON is held, and equal strings are shared.
			r, closeFile, err := v.file.open()
			if err != nil {
				return nil, err
			}
			defer closeFile()
			dec := newStreamDecoder(r)
			if err := decodeStreaming(dec, reflect.ValueOf(t).Elem(), newSharer("")); err != nil {
				return nil, fmt.Errorf("system snapshot: %w", err)
			}
			v.decoded = t
			return t, nil
		}
		raw := v.raw
		if raw == nil { // decoded as another type before
			b, err := json.Marshal(v.decoded)
			if err != nil {
				return nil, fmt.Errorf("system snapshot: %w", err)
			}
			raw = b
		}
		if err := json.Unmarshal(raw, t); err != nil {
			return nil, fmt.Errorf("system snapshot: %w", err)
		}
		v.raw, v.decoded = nil, t
		return t, nil
	default:
		return nil, fmt.Errorf("system snapshot: holds %T, want *%v", s.v, reflect.TypeFor[T]())
	}
}
