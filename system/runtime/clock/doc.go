// Package clock is the one place every service of every system reads time from.
//
// # Design
//
// Services never call time.Now or time.After directly: they hold a Clock. Two
// implementations exist:
//
//	Real  wall-clock UTC plus an offset that can be changed at run time
//	      (the clock-skew anomaly: a service whose clock runs ahead or behind)
//	Fake  manual time for tests; Advance moves it and fires due timers,
//	      so timing logic (SLA reminders, anomaly delays) is tested without sleeps
//
//	          ┌────────────┐
//	service ─▶│ Clock      │── Now() ──▶ UTC instant (+ offset)
//	          │            │── After(d) ─▶ fires when the clock reaches now+d
//	          └────────────┘
//
// All instants returned are in UTC, like the original system (spec §12.3:
// everything is DateTimeOffset.UtcNow).
//
// # Differences from the original
//
// The original read DateTimeOffset.UtcNow everywhere, so time could not be
// skewed per service nor controlled in tests. Here the offset is a property of
// the clock, and Sleep/After honour it only in the sense that durations are
// unaffected by the offset (an offset shifts instants, not intervals).
//
// # Best practices
//
//   - Take a Clock in constructors; nil means Real with no offset (use Or).
//   - In tests use NewFake and Advance; never time.Sleep.
//   - Use Sleep(ctx, c, d) for cancellable waits: it returns ctx.Err() early.
package clock
