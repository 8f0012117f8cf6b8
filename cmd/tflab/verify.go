package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

func newVerifyCmd(st *state) *cobra.Command {
	var (
		fromSpans, write bool
		synthesize       int
		seed             uint64
	)
	cmd := &cobra.Command{
		Use:   "verify RUN_DIR",
		Short: "Judge a saved run again, offline (no broker): same history, same verdict",
		Long: `Load a run directory's history (history.json and events.jsonl) and judge it
again with the current checkers; no broker, no services. --from-spans rebuilds
the events from the span files (traces/*.jsonl) instead, so the span adapter is
judged too. A directory with span files but no history.json is judged from its
spans alone (its scenario header is empty, so the verdict is not a pass).

--synthesize N first writes a synthetic run of N spans into RUN_DIR/traces
(tracing/spanfile.Synthesize, seeded by --synth-seed): the benchmark of this
command is 'tflab verify --synthesize 1000000 DIR'. The command prints the
verdict table, the spans per second and the peak heap and resident memory.
While judging, the soft memory limit is about 0.7 times the size of the files
read (at least 256 MiB) and GOGC is off, so the heap does not grow to twice
the live heap; a lower GOMEMLIMIT is kept, and then GOGC too. Exit codes as
for 'tflab run'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := args[0]
			if synthesize > 0 {
				t0 := time.Now()
				s, err := spanfile.Synthesize(dir, synthesize, seed)
				if err != nil {
					return err
				}
				fmt.Fprintf(st.stderr, "synthesized %d spans in %d traces (%d files) in %s\n", s.Spans, s.Traces, len(s.Files), time.Since(t0).Round(time.Millisecond))
			} else if _, err := os.Stat(dir); err != nil {
				return usageErrorf("run directory: %v", err)
			}
			defer history.LimitMemoryForJudging(verifyInputBytes(dir, fromSpans))()
			runtime.GC()
			stop := samplePeakHeap()
			start := time.Now()
			v, err := run.Verify(dir, run.VerifyOptions{FromSpans: fromSpans, Write: write, Systems: systems})
			took := time.Since(start)
			peak := stop()
			if err != nil {
				return err
			}
			rr := report.Run{History: v.History, Verdict: v.Verdict, Counts: v.Counts}
			if err := report.WriteTable(st.stdout, rr); err != nil {
				return err
			}
			n := v.History.NumEvents()
			fmt.Fprintf(st.stdout, "verified %d spans from %s in %s: %.0f spans/s, peak heap %.0f MiB, peak RSS %.0f MiB\n",
				n, v.Source, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(peak)/(1<<20), maxRSSMiB())
			if v.Spans.Torn > 0 || v.Spans.Bad > 0 {
				fmt.Fprintf(st.stdout, "span files: %d torn and %d malformed lines skipped\n", v.Spans.Torn, v.Spans.Bad)
			}
			return verdictError(&run.Result{Verdict: v.Verdict})
		},
	}
	cmd.Flags().BoolVar(&fromSpans, "from-spans", false, "rebuild the events from the span files instead of events.jsonl")
	cmd.Flags().BoolVar(&write, "write", false, "rewrite journal.json, junit.xml and report.html with the new verdict")
	cmd.Flags().IntVar(&synthesize, "synthesize", 0, "first write a synthetic run of this many spans into RUN_DIR/traces")
	cmd.Flags().Uint64Var(&seed, "synth-seed", 1, "seed of --synthesize")
	return cmd
}

// verifyInputBytes is the size of the files run.Verify reads from dir:
// history.json, and events.jsonl or, with fromSpans or without events.jsonl,
// the span files.
func verifyInputBytes(dir string, fromSpans bool) int64 {
	size := func(path string) int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	n := size(filepath.Join(dir, history.RunFile))
	if _, err := os.Stat(filepath.Join(dir, history.EventsFile)); err == nil && !fromSpans {
		return n + size(filepath.Join(dir, history.EventsFile))
	}
	files, _ := spanfile.Files(lab.Layout{Dir: dir}.Traces()) // none: Verify reports it
	for _, f := range files {
		n += size(f)
	}
	return n
}

// samplePeakHeap samples the live heap every 5 ms until the returned
// function is called, which returns the largest value seen.
func samplePeakHeap() func() uint64 {
	var (
		peak atomic.Uint64
		done atomic.Bool
		wg   sync.WaitGroup
	)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	wg.Go(func() {
		for !done.Load() {
			read()
			time.Sleep(5 * time.Millisecond)
		}
	})
	return func() uint64 {
		done.Store(true)
		wg.Wait()
		read()
		return peak.Load()
	}
}

// maxRSSMiB is the process's peak resident set size.
func maxRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}
