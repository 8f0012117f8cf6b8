package spanfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Resource attribute keys the processor falls back on when Options leave
// Service or Instance empty.
const (
	resourceServiceName     = attribute.Key("service.name")
	resourceServiceInstance = attribute.Key("service.instance.id")
)

// Options configure a Processor.
type Options struct {
	// Service and Instance are written into every line. Empty means: take
	// service.name and service.instance.id from the span's resource.
	Service  string
	Instance string
	// Fsync makes every OnEnd call fsync(2) the file after its write, which
	// extends the guarantee from "survives SIGKILL" to "survives power loss"
	// at the cost of one disk flush per span.
	Fsync bool
	// Logger receives write errors (the first, then every 1000th). Nil
	// discards.
	Logger *slog.Logger
}

// Stats counts what a Processor did.
type Stats struct {
	Spans   int64 // lines written
	Bytes   int64 // bytes written
	Errors  int64 // spans whose line could not be written
	Dropped int64 // spans not written: processor shut down, or line too long
}

// Processor is an sdktrace.SpanProcessor that appends each ended span to a
// file as one JSON line, synchronously, inside OnEnd. See the package
// documentation for the exact crash guarantee. It is safe for concurrent
// use.
type Processor struct {
	opts Options
	log  *slog.Logger
	path string

	mu     sync.Mutex // serializes writes and guards f/closed
	f      *os.File
	closed bool

	spans, bytes, errs, dropped atomic.Int64
	firstErr                    atomic.Pointer[error]
}

var _ sdktrace.SpanProcessor = (*Processor)(nil)

// bufPool holds line buffers and records; one OnEnd uses one of each.
var bufPool = sync.Pool{New: func() any { return &encodeState{buf: make([]byte, 0, 2048)} }}

type encodeState struct {
	buf []byte
	rec Record
}

// Open opens (creating it and its directory if needed) the span file at path
// for appending. If the file does not end with a newline - a previous
// process was killed in the middle of a line - Open first writes one, so
// the torn fragment stays a line of its own and the first new span is
// intact.
func Open(path string, opts Options) (*Processor, error) {
	if path == "" {
		return nil, errors.New("spanfile: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("spanfile: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spanfile: open: %w", err)
	}
	if err := terminateLastLine(path, f); err != nil {
		_ = f.Close()
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{opts: opts, log: log.With("component", "spanfile", "path", path), path: path, f: f}, nil
}

func terminateLastLine(path string, w *os.File) error {
	r, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("spanfile: open for repair: %w", err)
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil {
		return fmt.Errorf("spanfile: stat: %w", err)
	}
	if st.Size() == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, st.Size()-1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("spanfile: read last byte: %w", err)
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := w.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("spanfile: terminate torn line: %w", err)
	}
	return nil
}

// Path returns the span file's path.
func (p *Processor) Path() string { return p.path }

// OnStart does nothing.
func (p *Processor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd encodes s as one line and writes it with one write(2) call before
// returning. Errors cannot be returned through the SDK; they are counted
// in Stats, kept for Err and logged.
func (p *Processor) OnEnd(s sdktrace.ReadOnlySpan) {
	es := bufPool.Get().(*encodeState)
	defer func() {
		es.release()
		bufPool.Put(es)
	}()
	p.fill(&es.rec, s)
	es.buf = AppendRecord(es.buf[:0], &es.rec)
	if len(es.buf) > MaxLineBytes {
		p.dropped.Add(1)
		p.fail(fmt.Errorf("spanfile: span %s %q: line of %d bytes exceeds %d", es.rec.SpanID, es.rec.Name, len(es.buf), MaxLineBytes))
		es.buf = make([]byte, 0, 2048) // do not keep a huge buffer pooled
		return
	}
	if err := p.write(es.buf); err != nil {
		p.fail(fmt.Errorf("spanfile: write span %s %q: %w", es.rec.SpanID, es.rec.Name, err))
		return
	}
	p.spans.Add(1)
	p.bytes.Add(int64(len(es.buf)))
	if cap(es.buf) > 1<<20 {
		es.buf = make([]byte, 0, 2048)
	}
}

var errClosed = errors.New("processor is shut down")

func (p *Processor) write(line []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.dropped.Add(1)
		return errClosed
	}
	// os.File.Write issues one write(2) for the whole line; it only loops
	// if the kernel reports a short write (disk full), finishing the line.
	if _, err := p.f.Write(line); err != nil {
		return err
	}
	if p.opts.Fsync {
		return p.f.Sync()
	}
	return nil
}

func (p *Processor) fail(err error) {
	if errors.Is(err, errClosed) {
		return
	}
	n := p.errs.Add(1)
	p.firstErr.CompareAndSwap(nil, &err)
	if n == 1 || n%1000 == 0 {
		p.log.Error("Span not written", "err", err, "errors", n)
	}
}

// fill copies what the schema needs from s into r without copying attribute
// slices (they are only read before OnEnd returns).
func (p *Processor) fill(r *Record, s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	r.reset()
	r.TraceID = sc.TraceID()
	r.SpanID = sc.SpanID()
	r.ParentSpanID = s.Parent().SpanID()
	r.Name = s.Name()
	r.Kind = s.SpanKind()
	r.Start = s.StartTime().UnixNano()
	r.End = s.EndTime().UnixNano()
	st := s.Status()
	r.StatusCode, r.StatusMessage = st.Code, st.Description
	r.Service, r.Instance = p.opts.Service, p.opts.Instance
	if r.Service == "" || r.Instance == "" {
		if res := s.Resource(); res != nil {
			if v, ok := res.Set().Value(resourceServiceName); ok && r.Service == "" {
				r.Service = v.Emit()
			}
			if v, ok := res.Set().Value(resourceServiceInstance); ok && r.Instance == "" {
				r.Instance = v.Emit()
			}
		}
	}
	r.Scope = s.InstrumentationScope().Name
	r.Attrs = s.Attributes()
	for _, e := range s.Events() {
		r.Events = append(r.Events, Event{Name: e.Name, Time: e.Time.UnixNano(), Attrs: e.Attributes})
	}
	for _, l := range s.Links() {
		r.Links = append(r.Links, Link{TraceID: l.SpanContext.TraceID(), SpanID: l.SpanContext.SpanID(), Attrs: l.Attributes})
	}
	r.Dropped = int64(s.DroppedAttributes() + s.DroppedEvents() + s.DroppedLinks())
}

// release drops the record's references to the span's attribute slices, so
// a pooled record does not keep an ended span's data alive.
func (es *encodeState) release() {
	clear(es.rec.Events)
	clear(es.rec.Links)
	es.rec.Attrs = nil
	es.rec.reset()
}

// ForceFlush fsyncs the file: every line written so far survives power loss
// once it returns.
func (p *Processor) ForceFlush(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("spanfile: fsync: %w", err)
	}
	return nil
}

// Shutdown fsyncs and closes the file. Spans ending afterwards are dropped
// and counted. It is idempotent.
func (p *Processor) Shutdown(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	serr := p.f.Sync()
	cerr := p.f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("spanfile: close %s: %w", p.path, err)
	}
	return nil
}

// Stats returns the processor's counters.
func (p *Processor) Stats() Stats {
	return Stats{Spans: p.spans.Load(), Bytes: p.bytes.Load(), Errors: p.errs.Load(), Dropped: p.dropped.Load()}
}

// Err returns the first write error, or nil.
func (p *Processor) Err() error {
	if e := p.firstErr.Load(); e != nil {
		return *e
	}
	return nil
}
