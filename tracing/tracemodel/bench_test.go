package tracemodel

import (
	"runtime"
	"testing"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

const benchSpans = 200_000

// benchRun synthesizes the benchmark run in the benchmark's temporary
// directory (a b.Loop benchmark body runs once per -count).
func benchRun(b *testing.B) (string, error) {
	dir := b.TempDir()
	_, err := spanfile.Synthesize(dir, benchSpans, 1)
	return dir, err
}

// BenchmarkReadRun loads a synthesized 200k-span run into the model and
// reports load throughput and the retained heap per span.
func BenchmarkReadRun(b *testing.B) {
	dir, err := benchRun(b)
	if err != nil {
		b.Fatal(err)
	}
	var r *Run
	b.ReportAllocs()
	for b.Loop() {
		r = nil
		if r, err = ReadRun(dir); err != nil {
			b.Fatal(err)
		}
		if r.Len() != benchSpans || len(r.Disconnected()) != 0 {
			b.Fatalf("loaded %d spans, %d disconnected traces", r.Len(), len(r.Disconnected()))
		}
	}
	b.ReportMetric(float64(b.N*benchSpans)/b.Elapsed().Seconds(), "spans/s")
	var before, after runtime.MemStats
	r = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, _ = ReadRun(dir)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchSpans, "heap-bytes/span")
	runtime.KeepAlive(r)
}

// BenchmarkByMessageID measures an index lookup once the index exists.
func BenchmarkByMessageID(b *testing.B) {
	dir, err := benchRun(b)
	if err != nil {
		b.Fatal(err)
	}
	r, err := ReadRun(dir)
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for id := range r.GroupByAttr(otelamqp.MessagingMessageID) {
		ids = append(ids, id)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if len(r.ByMessageID(ids[i%len(ids)])) == 0 {
			b.Fatal("no spans")
		}
		i++
	}
}
