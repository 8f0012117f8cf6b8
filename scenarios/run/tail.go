package run

import "github.com/ticketflow-lab/tflab/scenarios/history"

// SpanTail reads the spans appended to the span files of a traces
// directory (new files included) since its last Read, as a live run does.
// It is not safe for concurrent use.
type SpanTail struct{ t spanTail }

// NewSpanTail tails the span files under dir, from their beginning.
func NewSpanTail(dir string) *SpanTail {
	return &SpanTail{t: spanTail{dir: dir, files: map[string]*tailedFile{}}}
}

// Read hands each span appended since the last Read to emit, until emit
// returns false. A directory that does not exist yet holds no spans.
func (s *SpanTail) Read(emit func(history.Event) bool) error { return s.t.read(emit) }

// Skipped is the number of lines that did not decode (torn or malformed).
func (s *SpanTail) Skipped() int { return s.t.skipped }
