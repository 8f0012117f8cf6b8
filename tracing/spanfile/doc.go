// Package spanfile writes OpenTelemetry spans to a JSON-lines file per
// process, so that a SIGKILL loses no span that had ended, and streams such
// files back for the invariant checkers.
//
// # Design
//
//	service process                              run directory
//	┌──────────────────────────────┐             runs/<run>/traces/
//	│ handler: span.End()          │             ├── inquiries.jsonl
//	│   └─ SDK calls OnEnd ────────┼─ write(2) ─>├── tickets.jsonl   (O_APPEND)
//	│        (Processor, sync)     │  one line   └── ...
//	│ then: AMQP ack               │
//	└──────────────────────────────┘
//	                 tflab verify / checkers: Walk ──> Record ──> history events
//
// Processor is an sdktrace.SpanProcessor, not an exporter behind a batcher.
// In OnEnd it encodes the span into one JSON line (AppendRecord, a
// hand-written encoder with no reflection) and writes the line with a
// single write(2) on a file opened with O_APPEND, before OnEnd returns. The
// SDK calls OnEnd synchronously from span.End, so when End returns the line
// has been handed to the kernel.
//
// # Crash guarantee (exact)
//
// Once span.End() has returned on a span of a TracerProvider that has this
// Processor and samples the span, the span's complete line is in the
// kernel's page cache for the file. The kernel writes it out whatever
// happens to the process afterwards, so SIGKILL, a panic, os.Exit or an
// OOM kill of the process loses no such span, and every other process (a
// checker reading the file) sees it immediately. The messaging layer ends a
// handling span before it acks the delivery, so every acked handling has
// its span in the file.
//
// Not covered: a kernel crash or power loss may lose lines that were not
// yet flushed to disk, unless Options.Fsync is set (fsync after every line,
// roughly a disk flush per span) or ForceFlush has been called since
// (it fsyncs). Spans that had not ended, or whose End was still running,
// when the process died are not covered: such a span may be missing, or its
// line may be torn (cut short). A write error (disk full) cannot be
// returned through the SDK: it is counted in Stats.Errors, kept by Err and
// logged. Spans ending after Shutdown are dropped and counted.
//
// TestSIGKILLLosesNoAckedSpan checks the guarantee: a child process ends
// spans on four goroutines and acknowledges each span id on a pipe after
// End returns; the parent SIGKILLs it at a random point, five times on the
// same file, then finds every acknowledged span, whole, in the file. Its
// negative control runs the same harness against a batching exporter and
// must see acknowledged spans lost.
//
// Why one write(2) and O_APPEND suffice: os.File.Write issues a single
// write(2) for the whole line and only loops when the kernel reports a
// short write (disk full, file size limit), in which case it finishes the
// line. With O_APPEND the kernel moves the offset to the end of file and
// writes in one step, so writers never overwrite each other; on Linux local
// file systems a regular-file write holds the inode lock, so concurrent
// appends do not interleave either. The PIPE_BUF (4096 bytes) atomicity
// rule of POSIX concerns pipes and FIFOs, not regular files, so lines need
// not be shorter than PIPE_BUF. The Processor also serializes its own
// writes with a mutex (encoding happens outside it), so within one process
// lines never interleave even on file systems without that lock (NFS).
// Each process should still have its own file: runs/<run>/traces/<svc>.jsonl.
//
// A process killed in the middle of write(2) can leave a torn last line (a
// prefix of a line, no newline). When a restarted process opens the same
// file, Open first appends a newline, so the fragment stays a line of its
// own and the new process's lines are intact. The reader reports torn lines
// and skips them.
//
// # Line schema, version 1
//
// One JSON object per line, fields in this order (readers accept any order
// and skip unknown fields; fields marked "omitted" are left out when empty):
//
//	v               int     schema version, 1
//	trace_id        string  32 lowercase hex digits
//	span_id         string  16 hex digits
//	parent_span_id  string  16 hex digits; omitted for a root span
//	name            string
//	kind            string  "internal" | "server" | "client" | "producer" | "consumer"
//	start, end      int     unix nanoseconds
//	status          string  "ok" | "error"; omitted when unset
//	status_msg      string  omitted when empty
//	service         string  service.name (Options.Service); omitted when empty
//	instance        string  service.instance.id (Options.Instance); omitted when empty
//	scope           string  instrumentation scope (tracer) name; omitted when empty
//	attrs           object  attribute key -> value; omitted when empty
//	events          array   {"name": string, "time": int, "attrs": object}; omitted when empty
//	links           array   {"trace_id", "span_id", "attrs"}; omitted when empty
//	dropped         int     attributes+events+links the SDK dropped at its limits; omitted when 0
//
// The JSON type of an attribute value is its OTel type: string -> string,
// true/false -> bool, a number without fraction or exponent -> int64, a
// number with one -> float64 (the writer always writes floats with a '.' or
// an exponent: 1.0, not 1), an array -> a slice of the element type (all
// elements of one type; numbers make a float64 slice if any has a fraction,
// else an int64 slice; an empty array is an empty string slice). JSON has
// no NaN or infinities: such floats are written as the strings "NaN",
// "+Inf", "-Inf". Strings are escaped like encoding/json does, invalid
// UTF-8 becoming U+FFFD. Example (wrapped here, one line in the file):
//
//	{"v":1,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7",
//	 "parent_span_id":"53995c3f42cd8ad8","name":"process TicketCreated","kind":"consumer",
//	 "start":1767225600000000000,"end":1767225600001500000,"service":"tickets",
//	 "instance":"tickets-1","scope":"github.com/ticketflow-lab/tflab/system/messaging",
//	 "attrs":{"messaging.message.id":"m-1","lab.attempt":1,"lab.redelivered":false,
//	 "lab.effect.keys":["ticket:tkt-1:create"]}}
//
// Adding an optional field keeps v at 1; renaming or retyping one bumps it,
// and readers report lines of an unknown version as bad lines.
//
// # Reading
//
// Walk streams files line by line through a 1 MiB buffered reader (lines up
// to MaxLineBytes) into one reused Record; Decoder is a hand-written
// decoder for this schema that allocates only for new strings (and none for
// strings the caller interns, see Decoder.Intern). A line that does not
// decode never fails the walk: it is counted and reported with its
// file:line in WalkStats.Problems, as torn (the JSON is cut short: a write
// interrupted by a crash, ErrTruncated) or bad (ErrSyntax, ErrSchema). A
// complete last line without its newline is accepted. FuzzDecode checks the
// decoder against encoding/json. Synthesize writes a realistic run of any
// size for benchmarks and for offline checks at the 1,000,000-span scale.
//
// # Best practices
//
//   - Register the Processor before any batching processor (the OTLP
//     exporter), so the file write is not queued behind it.
//   - End the handling span before acking; ack only if End returned. Never
//     ack from a deferred function that runs before the span's End.
//   - One file per process; a restarted instance may reuse its file (Open
//     repairs a torn tail).
//   - Call TracerProvider.Shutdown on orderly exit: it fsyncs and closes.
//   - Keep attribute values small: a line is one write(2) and one reader
//     buffer; lines over MaxLineBytes are dropped and reported.
//   - Readers copy what they keep out of the Record passed to Walk's
//     callback; it is reused for the next line.
package spanfile
