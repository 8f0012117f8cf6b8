package check

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// concurrently runs jobs on at most GOMAXPROCS goroutines, in the order
// given as far as workers are free, and returns when all have returned.
// Each job gets an index of its own (a shallow copy of x whose cache of
// copied events is its own), so jobs may read x's maps and the history
// together but must not write to them.
func concurrently(x *index, jobs []func(x *index)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		own := *x
		own.copies = nil
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				jobs[i](&own)
			}
		})
	}
	wg.Wait()
}
