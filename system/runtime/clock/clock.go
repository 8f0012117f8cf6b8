package clock

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time. Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current instant in UTC.
	Now() time.Time
	// After returns a channel that receives the clock's time once d has
	// elapsed on this clock. d <= 0 fires immediately. The channel has a
	// buffer of one and is never closed.
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock shifted by an adjustable offset.
type Real struct {
	offset atomic.Int64 // nanoseconds
}

var _ Clock = (*Real)(nil)

// NewReal returns a wall clock shifted by offset (0 = true UTC).
func NewReal(offset time.Duration) *Real {
	r := &Real{}
	r.offset.Store(int64(offset))
	return r
}

// Now returns time.Now in UTC plus the offset.
func (r *Real) Now() time.Time {
	return time.Now().Add(time.Duration(r.offset.Load())).UTC()
}

// After waits d of real time; the offset does not change intervals.
func (r *Real) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- r.Now()
		return ch
	}
	time.AfterFunc(d, func() { ch <- r.Now() })
	return ch
}

// SetOffset changes the skew; concurrent readers see either value.
func (r *Real) SetOffset(d time.Duration) { r.offset.Store(int64(d)) }

// Offset returns the current skew.
func (r *Real) Offset() time.Duration { return time.Duration(r.offset.Load()) }

// Or returns c, or a Real clock with no offset when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return NewReal(0)
	}
	return c
}

// Sleep waits d on clock c or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	if _, ok := c.(*Real); ok {
		// A real timer can be stopped, so a cancelled long wait leaks nothing.
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.After(d):
		return nil
	}
}

// Fake is a manual clock for tests. The zero value is not usable; use NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock set to start (converted to UTC).
func NewFake(start time.Time) *Fake { return &Fake{now: start.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After fires when Advance or Set moves the clock to now+d or later.
func (f *Fake) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, waiter{at: f.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock forward by d and fires every timer now due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.setLocked(f.now.Add(d))
	f.mu.Unlock()
}

// Set moves the clock to t (UTC); moving backwards fires nothing.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.setLocked(t.UTC())
	f.mu.Unlock()
}

// Waiters reports how many After timers are pending. Tests use it to wait
// until a goroutine has started waiting before calling Advance.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

func (f *Fake) setLocked(t time.Time) {
	f.now = t
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].at.Before(f.waiters[j].at) })
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.at.After(t) {
			w.ch <- t
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}
