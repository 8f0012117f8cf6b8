package clock

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

func TestRealOffsetShiftsNow(t *testing.T) {
	r := NewReal(0)
	base := r.Now()
	r.SetOffset(2 * time.Hour)
	got := r.Now().Sub(base)
	if got < 2*time.Hour || got > 2*time.Hour+5*time.Second {
		t.Fatalf("offset 2h: Now moved by %v", got)
	}
	if r.Offset() != 2*time.Hour {
		t.Fatalf("Offset() = %v", r.Offset())
	}
	if r.Now().Location() != time.UTC {
		t.Fatal("Now is not UTC")
	}
}

func TestRealAfterZeroFiresAtOnce(t *testing.T) {
	select {
	case <-NewReal(0).After(0):
	case <-time.After(2 * time.Second):
		t.Fatal("After(0) did not fire")
	}
}

func TestFakeAdvanceFiresDueTimersOnly(t *testing.T) {
	f := NewFake(t0)
	a := f.After(10 * time.Second)
	b := f.After(time.Minute)
	f.Advance(10 * time.Second)
	select {
	case got := <-a:
		if !got.Equal(t0.Add(10 * time.Second)) {
			t.Fatalf("a fired with %v", got)
		}
	default:
		t.Fatal("a did not fire at its deadline")
	}
	select {
	case <-b:
		t.Fatal("b fired early")
	default:
	}
	if f.Waiters() != 1 {
		t.Fatalf("Waiters = %d, want 1", f.Waiters())
	}
	f.Set(t0.Add(time.Hour))
	select {
	case <-b:
	default:
		t.Fatal("b did not fire after Set")
	}
}

func TestSleepHonoursContextAndFakeClock(t *testing.T) {
	f := NewFake(t0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Sleep(ctx, f, time.Hour); err == nil {
		t.Fatal("Sleep on a cancelled ctx returned nil")
	}
	// Checked before the next Sleep starts: its timer would count too.
	if f.Waiters() != 0 {
		t.Fatalf("a cancelled Sleep left %d timers", f.Waiters())
	}
	done := make(chan error, 1)
	go func() { done <- Sleep(t.Context(), f, time.Minute) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.Waiters() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Sleep never registered a timer")
		}
		time.Sleep(time.Millisecond) // polling for the goroutine to block, not synchronising on time
	}
	f.Advance(time.Minute)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Sleep: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Sleep did not return after Advance")
	}
}

func TestOrDefaultsToReal(t *testing.T) {
	if _, ok := Or(nil).(*Real); !ok {
		t.Fatal("Or(nil) is not *Real")
	}
	f := NewFake(t0)
	if Or(f) != f {
		t.Fatal("Or(f) != f")
	}
}

func TestSleepOnRealClock(t *testing.T) {
	start := time.Now()
	if err := Sleep(t.Context(), NewReal(time.Hour), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("Sleep returned early")
	}
}
