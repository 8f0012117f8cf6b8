package check

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Every job runs once, each sees an index with a cache of its own, and a
// panicking job panics in the caller after the others ran.
func TestConcurrentlyRunsEveryJobAndReportsAPanic(t *testing.T) {
	x := newIndex(&history.History{})
	var ran atomic.Int64
	jobs := make([]func(*index), 50)
	for i := range jobs {
		jobs[i] = func(own *index) {
			if own == x {
				t.Error("a job got the caller's index")
			}
			ran.Add(1)
		}
	}
	concurrently(x, jobs)
	if ran.Load() != 50 {
		t.Fatalf("%d of 50 jobs ran", ran.Load())
	}

	ran.Store(0)
	boom := errors.New("boom")
	jobs[7] = func(*index) { panic(boom) }
	defer func() {
		p, ok := recover().(*jobPanic)
		if !ok || !errors.Is(p, boom) || !strings.Contains(p.Error(), "boom") {
			t.Fatalf("recovered %v, want the job's panic", p)
		}
		if ran.Load() != 49 {
			t.Errorf("%d of the 49 other jobs ran before the panic came back", ran.Load())
		}
	}()
	concurrently(x, jobs)
	t.Fatal("concurrently returned after a job panicked")
}
