// Package tracemodel loads every span file of a run into a compact,
// read-only, indexed model that the invariant checkers query: spans by
// trace, by message id, by message type or by any string attribute;
// parents and children; and whether each trace is connected.
//
// # Design
//
//	runs/<run>/traces/*.jsonl ──spanfile.Reader.Walk──> Record (reused)
//	                                   │ Intern: one copy per distinct string
//	                                   v
//	Run ┌ strs []string + ids map      string table (names, keys, values)
//	    ├ spans []span                 ~112 B each: ids, times, string ids,
//	    │                              ranges into the arenas below
//	    ├ attrs []attr                 12 B each: key id|type, 64-bit value
//	    ├ events, links, slices        arenas
//	    ├ order, traceOff              spans sorted by (trace, start, span id)
//	    ├ parent, childOff, children   the span tree, as index arrays
//	    └ idx (lazy)                   per attribute key: value id -> spans
//
// Loading streams the files (never holding a file or its JSON in memory),
// interns every string as it is decoded (the decoder hands the raw bytes to
// the model's interner, so a repeated string is never allocated twice),
// and stores attributes as 12-byte cells in one arena instead of
// attribute.KeyValue slices. After the last line, build sorts span indexes
// by trace, resolves parents per trace (a scan for small traces, a map for
// large ones), marks duplicated (trace id, span id) lines and lays out the
// children. Measured on the project's shared 2-core machine with a
// synthesized run (spanfile.Synthesize, ~890 bytes per line): loading runs
// at about 100-150k spans/s on one core and keeps about 440 bytes of heap
// per span (BenchmarkReadRun); 1,000,000 spans (886 MB of JSONL) loaded in
// 7.6 s into 436 MB of live heap, with a peak RSS of 820 MB under the
// default GOGC=100 (a caller that cares sets a lower GOGC or GOMEMLIMIT).
//
// Span is a 16-byte view (run pointer + index) with typed accessors: Str,
// Int, Float, Bool, Strings and Attr (an attribute.Value). Run and Span
// methods are safe for concurrent use; attribute indexes are built on first
// use under a mutex.
//
// # Connectivity
//
// A trace is connected (Shape.Connected) when it has exactly one root (a
// span without parent id) and every other span's parent is in the run. A
// span whose parent id is absent is an orphan: its parent was never
// written, or lost. Repeated lines of the same span are duplicates: they
// are listed in Shape but neither connect nor disconnect the trace.
// Disconnected lists the traces that are not connected.
//
// # Load problems
//
// Torn lines (a process killed mid-write) and malformed lines never fail a
// load: Stats counts them and lists the first spanfile.MaxProblems with
// file:line. Only an unreadable file fails Load.
//
// # Best practices
//
//   - Load once per run and share the *Run between checkers.
//   - Report Stats().Torn and Stats().Bad with the verdict: a torn line is
//     expected after a kill -9 scenario; a bad line is a bug.
//   - Report offending spans with Span.String (trace id, span id, file:line).
//   - Compare attribute keys through the otelamqp constants, never by
//     retyping the string.
package tracemodel
