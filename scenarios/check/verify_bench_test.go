package check_test

import (
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// Targets of BenchmarkVerify on about a million spans.
const (
	targetSpansPerSec = 150_000
	targetPeakHeap    = 512 << 20
)

// BenchmarkVerify measures what `tflab verify RUN_DIR` does — load a saved
// history from disk into an event table and judge it — on a synthetic run
// of about a million spans (about 16.4 spans per inquiry), under the soft
// memory limit tflab verify sets (history.LimitMemoryForJudging). It reports
// spans/s and the peak heap during load + judge, and each against its
// target (spans-per-s/target ≥ 1 and heap/target ≤ 1 meet them):
//
//	go test ./scenarios/check -run '^$' -bench Verify -benchtime 1x
func BenchmarkVerify(b *testing.B) {
	const inquiries = 61_000 // ≈ 1,000,000 spans
	dir := b.TempDir()
	res := synth.New(synth.Config{Seed: 1, Inquiries: inquiries, Gap: time.Millisecond})
	res.History.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	spans := len(res.History.Events)
	if err := history.Save(dir, res.History); err != nil {
		b.Fatal(err)
	}
	res = synth.Result{}
	var input int64 // what tflab verify sizes its memory limit by
	for _, name := range []string{history.RunFile, history.EventsFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		input += fi.Size()
	}
	defer history.LimitMemoryForJudging(input)()
	runtime.GC()
	b.ResetTimer()
	var peak, live uint64
	cpu0 := cpuTime()
	for b.Loop() {
		stop := samplePeakHeap(&peak, &live)
		h, err := history.LoadTable(dir)
		if err != nil {
			b.Fatal(err)
		}
		v := check.Evaluate(h, invariants.All...)
		stop()
		if v.Outcome != check.OutcomePass {
			b.Fatalf("verdict %s: %s", v.Outcome, v.Reason)
		}
	}
	cpu := (cpuTime() - cpu0).Seconds()
	rate := float64(spans) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "spans/s")
	b.ReportMetric(rate/targetSpansPerSec, "spans-per-s/target")
	b.ReportMetric(float64(peak)/targetPeakHeap, "heap/target")
	// On a shared machine wall time depends on the neighbours; CPU time does not.
	b.ReportMetric(float64(spans)*float64(b.N)/cpu, "spans/cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(spans), "spans")
	b.ReportMetric(float64(debug.SetMemoryLimit(-1))/(1<<20), "mem-limit-MiB")
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// samplePeakHeap records, every 5 ms until stop is called, the largest heap
// (bytes in heap objects, live or not yet swept: what the process holds)
// and the largest live heap the garbage collector marked.
func samplePeakHeap(peak, live *uint64) (stop func()) {
	var done atomic.Bool
	var wg sync.WaitGroup
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	read := func() {
		metrics.Read(sample)
		*peak = max(*peak, sample[0].Value.Uint64())
		*live = max(*live, sample[1].Value.Uint64())
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			read()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() {
		done.Store(true)
		wg.Wait()
		read()
	}
}
