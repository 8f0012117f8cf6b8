//go:build integration

package messaging_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/benchhop"
	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// benchMessages is the number of messages per measured run (BENCH_MESSAGES overrides).
func benchMessages() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// BenchmarkOneHop measures messages per second through one protected hop
// and, in the same run on the same node, raw amqp091 publish + consume
// (package internal/benchhop, also behind `tflab bench hop`). It reports
// both, their ratio, the hop's CPU time per message, and each side's CPU a
// message with the private node's (the cpu ratio).
//
//	go test -tags integration -run '^$' -bench OneHop -benchtime 3x ./system/messaging
func BenchmarkOneHop(b *testing.B) {
	br := labtest.SharedBroker(b)
	cfg := benchhop.Config{AMQPURL: br.AMQPURL, Messages: benchMessages(), Dir: b.TempDir(), Log: labtest.Logger(b)}
	if br.Node != nil {
		cfg.BrokerPID = br.Node.PID() // the broker's CPU counts on both sides
	}
	last := time.Now()
	progress := func(side benchhop.Side, round, done int) {
		// Called from the benchmark's own goroutine: nothing logs after it returns.
		if time.Since(last) >= time.Second || done == cfg.Messages {
			b.Logf("round %d %s: %d/%d", round, side, done, cfg.Messages)
			last = time.Now()
		}
	}
	c, err := benchhop.Compare(b.Context(), cfg, b.N, progress)
	if err != nil {
		b.Fatal(err)
	}
	cpu := make([]float64, len(c.Hop))
	for i, r := range c.Hop {
		cpu[i] = float64(r.CPUPerMessage().Nanoseconds()) / 1e3
	}
	slices.Sort(cpu)
	b.ReportMetric(cpu[len(cpu)/2], "hop-cpu-µs/msg")
	b.ReportMetric(c.RawRate, "raw-msg/s")
	b.ReportMetric(c.HopRate, "hop-msg/s")
	b.ReportMetric(c.Ratio, "ratio")
	b.ReportMetric(float64(c.RawCPU.Nanoseconds())/1e3, "raw-total-cpu-µs/msg")
	b.ReportMetric(float64(c.HopCPU.Nanoseconds())/1e3, "hop-total-cpu-µs/msg")
	b.ReportMetric(c.CPURatio, "cpu-ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d messages per run, medians of %d runs: raw %.0f msg/s, one protected hop %.0f msg/s, ratio %.2f; CPU a message (process + broker) raw %s, hop %s, cpu ratio %.2f",
		cfg.Messages, b.N, c.RawRate, c.HopRate, c.Ratio, c.RawCPU, c.HopCPU, c.CPURatio)
}
