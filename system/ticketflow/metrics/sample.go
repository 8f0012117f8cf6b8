package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Health thresholds of the original generator: Healthy when CPU < 90 % and
// memory < 90 % of the total (1843 of 2048 MB), else Error.
const (
	CPUErrorPercent    = 90.0
	MemoryErrorPercent = 90.0
)

// Status classifies a sample like the original.
func Status(cpuPercent, usedMB, totalMB float64) contracts.HealthStatus {
	if totalMB <= 0 {
		return contracts.HealthUnknown
	}
	if cpuPercent < CPUErrorPercent && usedMB < totalMB*MemoryErrorPercent/100 {
		return contracts.HealthHealthy
	}
	return contracts.HealthError
}

// Sample is one reading of the process.
type Sample struct {
	CPUPercent float64 // of one core, since the previous sample
	RSSMB      float64
	TotalMB    float64 // machine memory
}

// ProcSampler reads the current process's CPU time (getrusage) and resident
// memory (/proc/self/statm) and the machine's memory (/proc/meminfo). It is
// safe for concurrent use; CPU % is measured between consecutive calls.
type ProcSampler struct {
	mu       sync.Mutex
	lastCPU  time.Duration
	lastWall time.Time
}

// Sample reads the process. The first call reports 0 % CPU. CPU % uses the
// monotonic wall time, so a skewed service clock does not distort it.
func (p *ProcSampler) Sample() (Sample, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Sample{}, fmt.Errorf("getrusage: %w", err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	wall := time.Now()
	p.mu.Lock()
	var pct float64
	if !p.lastWall.IsZero() {
		if dw := wall.Sub(p.lastWall); dw > 0 {
			pct = 100 * float64(cpu-p.lastCPU) / float64(dw)
		}
	}
	p.lastCPU, p.lastWall = cpu, wall
	p.mu.Unlock()
	rss, err1 := residentMB()
	total, err2 := totalMB()
	return Sample{CPUPercent: pct, RSSMB: rss, TotalMB: total}, errors.Join(err1, err2)
}

func residentMB() (float64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("read statm: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("statm: unexpected %q", b)
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0, fmt.Errorf("statm: %w", err)
	}
	return pages * float64(os.Getpagesize()) / (1 << 20), nil
}

func totalMB() (float64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read meminfo: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, fmt.Errorf("meminfo: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("meminfo: no MemTotal")
}

// Counters count handled and failed messages of an instance; safe for
// concurrent use.
type Counters struct {
	handled, failed atomic.Int64
}

// Handled and Failed record one outcome.
func (c *Counters) Handled() { c.handled.Add(1) }

// Failed records a failed handling.
func (c *Counters) Failed() { c.failed.Add(1) }

// Stats returns the current counts.
func (c *Counters) Stats() contracts.MessageStats {
	return contracts.MessageStats{Handled: c.handled.Load(), Failed: c.failed.Load()}
}

// Tick builds the MetricTick of an instance.
func Tick(appName, instance string, now time.Time, s Sample, stats contracts.MessageStats, queues []contracts.QueueDepth) contracts.MetricTick {
	return contracts.MetricTick{
		Name: appName, Instance: instance, LastChecked: now.UTC(), Status: Status(s.CPUPercent, s.RSSMB, s.TotalMB),
		Metrics:  contracts.HealthMetrics{CPU: contracts.CPUMetric{Usage: round2(s.CPUPercent)}, Memory: contracts.MemoryMetric{Used: round2(s.RSSMB), Total: round2(s.TotalMB)}},
		Messages: &stats, Queues: queues,
	}
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// Report calls build and sink every interval on clk until ctx ends; the
// first tick is immediate. A sink error is passed to onErr (nil = ignored)
// and the loop goes on, like the original's background workers. It returns
// ctx.Err().
func Report(ctx context.Context, clk clock.Clock, interval time.Duration, build func(now time.Time) contracts.MetricTick,
	sink func(context.Context, contracts.MetricTick) error, onErr func(error)) error {
	if interval <= 0 {
		return errors.New("metrics report: interval must be positive")
	}
	clk = clock.Or(clk)
	for {
		if err := sink(ctx, build(clk.Now())); err != nil && onErr != nil {
			onErr(err)
		}
		if err := clock.Sleep(ctx, clk, interval); err != nil {
			return err
		}
	}
}
