//go:build integration

package main

import (
	"regexp"
	"strconv"
	"testing"
)

// `tflab bench hop` starts its own private node, measures both sides and
// prints raw msg/s, hop msg/s and their ratio, each side's CPU a message
// (with the node's) and their ratio, with progress on stderr.
func TestBenchHopPrintsRawHopAndRatio(t *testing.T) {
	out, stderr, code := runTflab(t, t.TempDir(), nil, "bench", "hop", "--messages", "500", "--rounds", "1")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	figures := map[string]float64{}
	for _, name := range []string{"raw", "hop", "ratio"} {
		m := regexp.MustCompile(`(?m)^` + name + `\s+([0-9.]+)\s`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q figure in:\n%s", name, out)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil || v <= 0 {
			t.Fatalf("%s figure %q: want a positive number", name, m[1])
		}
		figures[name] = v
	}
	// The ratio is the two printed rates' quotient (rounded as printed).
	if want := figures["hop"] / figures["raw"]; figures["ratio"] < want-0.01 || figures["ratio"] > want+0.01 {
		t.Errorf("ratio %.2f, but hop/raw is %.3f:\n%s", figures["ratio"], want, out)
	}
	// CPU a message, process + private node, and their quotient.
	m := regexp.MustCompile(`(?m)^cpu\s+([0-9]+) µs/msg raw, ([0-9]+) µs/msg hop \(this process \+ the broker node; medians\)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no cpu line with the broker node's CPU in:\n%s", out)
	}
	rawCPU, _ := strconv.ParseFloat(m[1], 64)
	hopCPU, _ := strconv.ParseFloat(m[2], 64)
	cr := regexp.MustCompile(`(?m)^cpu ratio\s+([0-9.]+)\s`).FindStringSubmatch(out)
	if rawCPU <= 0 || hopCPU <= 0 || cr == nil {
		t.Fatalf("cpu figures %v, cpu ratio %v: want positive numbers in:\n%s", m[1:], cr, out)
	}
	// The printed µs are rounded: allow for it.
	if got, _ := strconv.ParseFloat(cr[1], 64); got < (rawCPU-0.5)/(hopCPU+0.5)-0.01 || got > (rawCPU+0.5)/(hopCPU-0.5)+0.01 {
		t.Errorf("cpu ratio %v, but raw/hop CPU is %.0f/%.0f:\n%s", got, rawCPU, hopCPU, out)
	}
	// The split: with one round, each side's process + broker is its cpu figure.
	sp := regexp.MustCompile(`(?m)^cpu split\s+raw ([0-9]+) \+ ([0-9]+) µs/msg, hop ([0-9]+) \+ ([0-9]+) µs/msg`).FindStringSubmatch(out)
	if sp == nil {
		t.Fatalf("no cpu split line in:\n%s", out)
	}
	var parts [4]float64
	for i := range parts {
		parts[i], _ = strconv.ParseFloat(sp[i+1], 64)
	}
	if d := parts[0] + parts[1] - rawCPU; d < -1.5 || d > 1.5 {
		t.Errorf("raw split %v + %v, but raw cpu %v:\n%s", parts[0], parts[1], rawCPU, out)
	}
	if d := parts[2] + parts[3] - hopCPU; d < -1.5 || d > 1.5 {
		t.Errorf("hop split %v + %v, but hop cpu %v:\n%s", parts[2], parts[3], hopCPU, out)
	}
	for _, side := range []string{"raw round 1/1:    500/500", "hop round 1/1:    500/500"} {
		if !regexp.MustCompile(regexp.QuoteMeta(side)).MatchString(stderr) {
			t.Errorf("stderr lacks progress %q:\n%s", side, stderr)
		}
	}
	t.Logf("bench hop (500 messages, 1 round):\n%s", out)
}
