package check

import (
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Steady-state probe results. A probe that held is PASS; a failed probe
// before the method means the run did not start (NOT MET), a failed probe
// after it means the system deviated from its steady state (DEVIATED).
const (
	NotMet   Status = "NOT MET"
	Deviated Status = "DEVIATED"
)

// ProbeResult is one steady-state probe as run, a row of the verdict beside
// the invariants.
type ProbeResult struct {
	Phase  string           `json:"phase"` // history.ProbeBefore or history.ProbeAfter
	Name   string           `json:"name"`
	OK     bool             `json:"ok"`
	Detail string           `json:"detail,omitempty"`
	Took   history.Duration `json:"took,omitempty"`
}

// Status is PASS for a probe that held, NOT MET for a failed probe before
// the method and DEVIATED for a failed probe after it.
func (p ProbeResult) Status() Status {
	switch {
	case p.OK:
		return Pass
	case p.Phase == history.ProbeBefore:
		return NotMet
	}
	return Deviated
}

// Title names the row: "steady state before: services-healthy".
func (p ProbeResult) Title() string { return "steady state " + p.Phase + ": " + p.Name }

// Evidence is the row's evidence column: the detail and how long it took.
func (p ProbeResult) Evidence() string {
	d := p.Detail
	if d == "" {
		d = "no detail"
	}
	if p.Took > 0 {
		d += " (took " + roundTook(time.Duration(p.Took)).String() + ")"
	}
	return d
}

// probeResults copies the history's probes, before-probes first, each phase
// in the order it ran.
func probeResults(probes []history.Probe) []ProbeResult {
	var out []ProbeResult
	for _, phase := range []string{history.ProbeBefore, history.ProbeAfter} {
		for _, p := range probes {
			if p.Phase == phase {
				out = append(out, ProbeResult{Phase: p.Phase, Name: p.Name, OK: p.OK, Detail: p.Detail, Took: p.Took})
			}
		}
	}
	return out
}

// failedProbes describes the failed probes of one phase: "name (detail); …",
// or "" when every probe of the phase held.
func failedProbes(probes []ProbeResult, phase string) string {
	var out []string
	for _, p := range probes {
		if p.Phase == phase && !p.OK {
			out = append(out, p.Name+" ("+p.Detail+")")
		}
	}
	return strings.Join(out, "; ")
}

// roundTook keeps a probe's duration readable: whole milliseconds under a
// second, tenths of a second above.
func roundTook(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
