package messaging

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff is an exponential backoff with full jitter bounds:
// delay(n) = min(Max, Initial * Multiplier^n), then scaled by a random factor
// in [1-Jitter, 1] drawn from the seeded source handed to the component.
type Backoff struct {
	Initial    time.Duration // default 100 ms
	Max        time.Duration // default 10 s
	Multiplier float64       // default 2
	Jitter     float64       // 0..1, default 0.2
}

func (b *Backoff) setDefaults() {
	if b.Initial == 0 {
		b.Initial = 100 * time.Millisecond
	}
	if b.Max == 0 {
		b.Max = 10 * time.Second
	}
	if b.Multiplier == 0 {
		b.Multiplier = 2
	}
	if b.Jitter == 0 {
		b.Jitter = 0.2
	}
}

// Validate reports what is wrong with the backoff.
func (b Backoff) Validate() error {
	var errs []error
	if b.Initial < 0 || b.Max < 0 {
		errs = append(errs, errors.New("backoff durations must not be negative"))
	}
	if b.Max != 0 && b.Initial > b.Max {
		errs = append(errs, fmt.Errorf("backoff initial %s exceeds max %s", b.Initial, b.Max))
	}
	if b.Multiplier != 0 && b.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("backoff multiplier %g must be >= 1", b.Multiplier))
	}
	if b.Jitter < 0 || b.Jitter > 1 {
		errs = append(errs, fmt.Errorf("backoff jitter %g must be within 0..1", b.Jitter))
	}
	return errors.Join(errs...)
}

// Delay is the wait before retry number n (0-based), using rnd for jitter
// (nil rnd means no jitter).
func (b Backoff) Delay(n int, rnd *rand.Rand) time.Duration {
	b.setDefaults()
	d := float64(b.Initial)
	for i := 0; i < n && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	if rnd != nil && b.Jitter > 0 {
		d *= 1 - b.Jitter*rnd.Float64()
	}
	return time.Duration(d)
}

// lockedRand makes one seeded *rand.Rand safe for the goroutines of a component.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) delay(b Backoff, n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return b.Delay(n, l.r)
}

// sleepCtx waits d or until ctx ends (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
