package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// liveSource is the events of a live run: the span files under a traces
// directory, tailed as the services append to them, and the runner's
// counters, read by a function the runner supplies.
type liveSource struct {
	dir      string
	every    time.Duration // how often the files are read for new lines
	counters func(ctx context.Context, names []string) map[string]float64
	log      *slog.Logger
}

var _ events = (*liveSource)(nil)

// Spans tails every span file under the directory (new files included),
// from its beginning, every l.every until ctx ends.
func (l *liveSource) Spans(ctx context.Context) <-chan history.Event {
	ch := make(chan history.Event, 256)
	go func() {
		defer close(ch)
		tail := &spanTail{dir: l.dir, files: map[string]*tailedFile{}}
		tick := time.NewTicker(l.every)
		defer tick.Stop()
		for {
			if err := tail.read(func(e history.Event) bool {
				select {
				case ch <- e:
					return true
				case <-ctx.Done():
					return false
				}
			}); err != nil {
				l.log.Debug("Reading the span files", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return ch
}

// Counters reads the named counters through the runner's function.
func (l *liveSource) Counters(ctx context.Context, names []string) map[string]float64 {
	return l.counters(ctx, names)
}

// spanTail reads the complete lines appended to span files since its last
// read. A line without its newline yet is kept until the rest arrives; a
// line that does not decode (the torn fragment of a killed process, which
// the restarted one terminates) is skipped.
type spanTail struct {
	dir     string
	files   map[string]*tailedFile
	dec     spanfile.Decoder
	rec     spanfile.Record
	skipped int
}

type tailedFile struct {
	offset  int64
	partial []byte
}

// read hands each new span to emit, file by file, until emit returns false.
func (t *spanTail) read(emit func(history.Event) bool) error {
	names, err := spanfile.Files(t.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, name := range names {
		f := t.files[name]
		if f == nil {
			f = &tailedFile{}
			t.files[name] = f
		}
		more, err := t.readFile(name, f, emit)
		if err != nil {
			errs = append(errs, err)
		}
		if !more {
			break
		}
	}
	return errors.Join(errs...)
}

func (t *spanTail) readFile(name string, tf *tailedFile, emit func(history.Event) bool) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return true, fmt.Errorf("open span file: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(tf.offset, io.SeekStart); err != nil {
		return true, fmt.Errorf("seek span file: %w", err)
	}
	data, err := io.ReadAll(f)
	tf.offset += int64(len(data))
	if len(tf.partial) > 0 {
		data = append(tf.partial, data...)
		tf.partial = nil
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			tf.partial = bytes.Clone(data)
			break
		}
		line := bytes.TrimSpace(data[:i])
		data = data[i+1:]
		if len(line) == 0 {
			continue
		}
		if derr := t.dec.Decode(line, &t.rec); derr != nil {
			t.skipped++
			continue
		}
		if !emit(EventOf(&t.rec)) {
			return false, nil
		}
	}
	if err != nil {
		return true, fmt.Errorf("read span file: %w", err)
	}
	return true, nil
}

// isMessageCounter reports whether name is a message fault's evidence
// counter (proxy.*).
func isMessageCounter(name string) bool {
	return slices.Contains(anomalies.MessageCounters(), name)
}

// spanTailEvery is how often a live run's span files are read for new lines.
const spanTailEvery = 200 * time.Millisecond

// liveCounters reads the counters a when step may watch: the fault
// executors' evidence (with what the installed message faults have done so
// far, asked only when a proxy.* counter is watched), the broker watcher's
// counters and outbox.pending (read from the services' databases, only when
// asked for).
func (r *runner) liveCounters(w *watcher) func(ctx context.Context, names []string) map[string]float64 {
	return func(ctx context.Context, names []string) map[string]float64 {
		out := r.env.Evidence.Counters()
		r.mu.Lock()
		tl := r.tl
		r.mu.Unlock()
		var since time.Time
		if tl != nil {
			since = tl.FirstStart()
		}
		maps.Copy(out, w.counters(since))
		r.mu.Lock()
		submitted, accepted := r.submitted, r.accepted
		r.mu.Unlock()
		out[spec.CounterWorkloadSubmitted] = float64(submitted)
		out[spec.CounterWorkloadAccepted] = float64(accepted)
		if tl != nil && slices.Contains(names, anomalies.CounterInAppFired) {
			// The healed in-app faults added theirs to the evidence; the
			// installed ones are asked now.
			out[anomalies.CounterInAppFired] += tl.firedNow(ctx)
		}
		if tl != nil && slices.ContainsFunc(names, isMessageCounter) {
			// The healed message faults added theirs to the evidence
			// (read above, first); the installed ones are asked now.
			for c, v := range tl.evidenceNow(ctx) {
				out[c] += v
			}
		}
		if slices.Contains(names, spec.CounterOutboxPending) {
			if n, err := unsentOutbox(ctx, r.dbs()); err == nil {
				out[spec.CounterOutboxPending] = float64(n)
			} else {
				r.log.Debug("Reading the outboxes", "err", err)
			}
		}
		return out
	}
}
