package history

import "runtime/debug"

// Measured on a synthetic history of a million spans (history.json and
// events.jsonl together 694 MiB): LoadTable and check.Evaluate together keep
// at most 358 MiB live, about half a byte per byte of input.
const (
	judgeLivePerInputByte = 0.55 // estimated peak live heap per byte of the history files
	judgeHeadroom         = 1.25 // the limit over that estimate
	judgeMinLimit         = 256 << 20
)

// JudgeMemoryLimit returns a soft memory limit, for runtime/debug.SetMemoryLimit,
// under which a history whose files take inputBytes on disk is loaded with
// LoadTable and judged: a quarter over the estimated peak live heap (0.55
// bytes per byte of input), and at least 256 MiB. With the default GOGC of
// 100 alone the heap grows to about twice the live heap before a collection.
func JudgeMemoryLimit(inputBytes int64) int64 {
	est := float64(max(inputBytes, 0)) * judgeLivePerInputByte * judgeHeadroom // < inputBytes: no overflow
	return max(int64(est), judgeMinLimit)
}

// LimitMemoryForJudging sets the process's soft memory limit to
// JudgeMemoryLimit(inputBytes) and turns the proportional collector off
// (GOGC=off), so that the garbage collector runs only when the heap nears
// the limit: fewer collections than GOGC=100 under the limit, each near the
// peak. When a lower limit is set already (by GOMEMLIMIT, say) it changes
// nothing. It returns a function that restores the previous settings. They
// apply to the whole process: it is for a command that judges one history,
// such as `tflab verify`.
func LimitMemoryForJudging(inputBytes int64) (restore func()) {
	prev := debug.SetMemoryLimit(-1)
	limit := JudgeMemoryLimit(inputBytes)
	if limit >= prev {
		return func() {}
	}
	debug.SetMemoryLimit(limit)
	prevGC := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(prevGC)
		debug.SetMemoryLimit(prev)
	}
}
