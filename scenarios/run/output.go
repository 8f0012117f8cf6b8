package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// writeReports writes journal.json, junit.xml and report.html; counts are
// the system's.
func writeReports(dir string, h *history.History, v check.Verdict, counts []history.Count) error {
	run := report.Run{History: h, Verdict: v, Counts: counts}
	return errors.Join(
		createFile(dir, JournalFile, func(w io.Writer) error { return report.WriteJournal(w, report.NewJournal(h, v, counts...)) }),
		createFile(dir, JUnitFile, func(w io.Writer) error { return report.WriteJUnit(w, run) }),
		createFile(dir, ReportFile, func(w io.Writer) error { return report.WriteHTML(w, run) }),
	)
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// FromSpans rebuilds the events from the span files (traces/) instead of
	// reading events.jsonl: the adapter is then judged too.
	FromSpans bool
	// Write rewrites journal.json, junit.xml and report.html with the new verdict.
	Write bool
	// Systems are the systems Verify may find the run's system among
	// (history meta; spec.DefaultSystem when unrecorded): the verdict
	// takes its invariants. Nil: the generic invariants only.
	Systems *sut.Registry
}

// Verified is the outcome of Verify.
type Verified struct {
	History *history.History
	Verdict check.Verdict
	// Counts are the system's counts of the run.
	Counts []history.Count
	// Source says where the events came from: events.jsonl or the span files.
	Source string
	Spans  SpanStats
}

// Verify re-judges a saved run offline, without a broker: it loads the
// history of dir (history.json and events.jsonl, or the span files under
// dir/traces when FromSpans is set or events.jsonl is missing) with its
// events in a history.EventTable and runs check.Evaluate. With Write the
// events are then copied out into History.Events for the reports. A directory that holds span files but no history.json (a
// synthetic run from spanfile.Synthesize) is judged from its spans alone,
// with an empty scenario header: its verdict is inconclusive, but the load
// and the checkers run in full.
func Verify(dir string, opts VerifyOptions) (*Verified, error) {
	traces := lab.Layout{Dir: dir}.Traces()
	var h *history.History
	_, statErr := os.Stat(filepath.Join(dir, history.RunFile))
	_, eventsErr := os.Stat(filepath.Join(dir, history.EventsFile))
	fromSpans := opts.FromSpans || eventsErr != nil
	switch {
	case statErr == nil && !fromSpans:
		loaded, err := history.LoadTable(dir)
		if err != nil {
			return nil, err
		}
		h = loaded
	case statErr == nil:
		loaded, err := history.LoadHeader(dir)
		if err != nil {
			return nil, err
		}
		h = loaded
	default:
		if _, err := os.Stat(traces); err != nil {
			return nil, fmt.Errorf("%s holds neither %s nor span files (traces/)", dir, history.RunFile)
		}
		h = &history.History{Meta: history.Meta{SchemaVersion: history.SchemaVersion, Scenario: "(spans only)"}}
	}
	out := &Verified{History: h, Source: history.EventsFile}
	if fromSpans {
		table, st, err := ReadSpanTable(traces)
		if err != nil {
			return nil, err
		}
		h.Events, h.Table, out.Spans, out.Source = nil, table, st, "span files"
	}
	var sys sut.System
	if opts.Systems != nil {
		name := h.Meta.System
		if name == "" {
			name = spec.DefaultSystem
		}
		found, err := opts.Systems.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", dir, err)
		}
		sys = found
	}
	out.Verdict = check.Evaluate(h, sys.Vocabulary.Invariants...)
	if sys.Counts != nil {
		out.Counts = sys.Counts(h)
	}
	if opts.Write {
		if h.Table != nil {
			h.Events, h.Table = h.Table.Events(), nil
		}
		if err := writeReports(dir, h, out.Verdict, out.Counts); err != nil {
			return nil, err
		}
	}
	return out, nil
}
