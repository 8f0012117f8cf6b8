package check

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// concurrently runs jobs on at most GOMAXPROCS goroutines, in the order
// given as far as workers are free, and returns when all have returned.
// Each job gets an index of its own (a shallow copy of x whose cache of
// copied events is its own), so jobs may read x's maps and the history
// together but must not write to them. A job that panics makes
// concurrently panic in the caller's goroutine (with a jobPanic) once every
// other job has run, as a checker called directly would have.
func concurrently(x *index, jobs []func(x *index)) {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		once    sync.Once
		failure *jobPanic
	)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		own := *x
		own.copies = nil
		run := func(job func(*index)) {
			defer func() {
				if p := recover(); p != nil {
					once.Do(func() { failure = &jobPanic{value: p, stack: debug.Stack()} })
				}
			}()
			job(&own)
		}
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				run(jobs[i])
			}
		})
	}
	wg.Wait()
	if failure != nil {
		panic(failure)
	}
}

// jobPanic is what a job of concurrently panicked with, and where.
type jobPanic struct {
	value any
	stack []byte
}

func (p *jobPanic) Error() string {
	return fmt.Sprintf("%v\n\nin a checker's goroutine:\n%s", p.value, p.stack)
}

// Unwrap returns the value the job panicked with when it is an error.
func (p *jobPanic) Unwrap() error {
	err, _ := p.value.(error)
	return err
}
