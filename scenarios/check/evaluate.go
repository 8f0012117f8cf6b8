package check

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Outcome is a run's overall verdict.
type Outcome string

// Run verdicts.
const (
	OutcomePass         Outcome = "PASS"
	OutcomeFail         Outcome = "FAIL"
	OutcomeInconclusive Outcome = "INCONCLUSIVE"
)

// Exit codes of DESIGN §6 that a verdict maps to (cmd/tflab owns the enum;
// these must stay equal to it).
const (
	ExitPass         = 0
	ExitViolated     = 4
	ExitInconclusive = 5
)

// EvidenceResult is one fault-efficacy requirement judged against the counters.
type EvidenceResult struct {
	Requirement string  `json:"requirement"`
	Counter     string  `json:"counter"`
	Observed    float64 `json:"observed"`
	Present     bool    `json:"present"` // false: nobody recorded the counter
	Met         bool    `json:"met"`
}

// Verdict is the judgement of one run.
type Verdict struct {
	Outcome  Outcome            `json:"outcome"`
	ExitCode int                `json:"exitCode"`
	Reason   string             `json:"reason"`
	Control  bool               `json:"control,omitempty"`
	Results  []Result           `json:"invariants"`
	Evidence []EvidenceResult   `json:"evidence"`
	Counters map[string]float64 `json:"counters"`
}

// Result returns the result for an invariant id.
func (v Verdict) Result(id string) (Result, bool) {
	for _, r := range v.Results {
		if r.ID == id {
			return r, true
		}
	}
	return Result{}, false
}

// Evaluate judges a history. It sorts its events (h.Events, or h.Table when
// Events is empty) by start time in place.
//
// The verdict, in order:
//  1. an invariant violated that the run did not expect → FAIL (exit 4);
//  2. fault evidence missing (a requirement unmet or unrecorded) → INCONCLUSIVE
//     (exit 5): a fault that left no trace proves nothing, never PASS;
//  3. an expected violation that did not happen → FAIL (exit 4): the negative
//     control could not see the bug it is meant to catch;
//  4. a checked invariant that could not decide → INCONCLUSIVE (exit 5);
//  5. otherwise PASS (exit 0).
//
// A run that expects violations (a negative control: "at least these")
// ignores other violations and undecided invariants beyond listing them: with
// a protection off, one bug often breaks more than one guarantee.
func Evaluate(h *history.History) Verdict {
	x := newIndex(h)
	v := Verdict{Control: h.Meta.Control, Counters: DeriveCounters(h)}
	for k, val := range h.Counters {
		if c, ok := history.LookupCounter(k); ok && c.Source == history.FromHistory {
			continue // derived counters are recomputed, never trusted from the runner
		}
		v.Counters[k] = val
	}
	selected := map[string]bool{}
	for _, id := range h.Meta.Invariants {
		if inv, ok := Lookup(id); ok {
			selected[inv.ID] = true
		}
	}
	expected := map[string]bool{}
	for _, id := range h.Meta.Expect.Violated {
		if inv, ok := Lookup(id); ok {
			expected[inv.ID] = true
		}
	}
	for _, inv := range Invariants {
		if len(h.Meta.Invariants) > 0 && !selected[inv.ID] && !expected[inv.ID] {
			r := newResult(inv, "")
			r.Status, r.Reason = Skipped, "not selected by the scenario"
			v.Results = append(v.Results, r)
			continue
		}
		r := inv.check(inv, x)
		r.Invariant = inv
		r.Expected = expected[inv.ID]
		v.Results = append(v.Results, r)
	}
	evidenceOK := true
	for _, req := range h.Meta.Evidence {
		obs, present := v.Counters[req.Counter]
		met := present && req.Met(obs)
		evidenceOK = evidenceOK && met
		v.Evidence = append(v.Evidence, EvidenceResult{Requirement: req.String(), Counter: req.Counter,
			Observed: obs, Present: present, Met: met})
	}
	v.Outcome, v.Reason = decide(v.Results, v.Evidence, evidenceOK, len(h.Meta.Evidence) > 0)
	if failed := failedProbes(h.Probes, history.ProbeAfter); v.Outcome == OutcomePass && !h.Meta.Control && len(failed) > 0 {
		// The invariants held on a system that never settled: the snapshot
		// may be mid-flight, so the run proves nothing.
		v.Outcome = OutcomeInconclusive
		v.Reason = "steady state not restored after the run: " + strings.Join(failed, "; ")
	}
	switch v.Outcome {
	case OutcomePass:
		v.ExitCode = ExitPass
	case OutcomeFail:
		v.ExitCode = ExitViolated
	default:
		v.ExitCode = ExitInconclusive
	}
	return v
}

// failedProbes describes the failed probes of one phase.
func failedProbes(probes []history.Probe, phase string) []string {
	var out []string
	for _, p := range probes {
		if p.Phase == phase && !p.OK {
			out = append(out, p.Name+" ("+p.Detail+")")
		}
	}
	return out
}

func decide(results []Result, evidence []EvidenceResult, evidenceOK, hasEvidence bool) (Outcome, string) {
	control := slices.ContainsFunc(results, func(r Result) bool { return r.Expected })
	var unexpected, missing, undecided []string
	for _, r := range results {
		switch {
		case r.Status == Violated && !r.Expected:
			if !control { // a control expects "at least these"
				unexpected = append(unexpected, r.ID)
			}
		case r.Expected && r.Status != Violated:
			missing = append(missing, r.ID)
		case r.Status == Inconclusive && !r.Expected && !control:
			undecided = append(undecided, r.ID)
		}
	}
	var unmet []string
	for _, e := range evidence {
		if !e.Met {
			obs := "not recorded"
			if e.Present {
				obs = fmt.Sprintf("observed %s", formatNumber(e.Observed))
			}
			unmet = append(unmet, fmt.Sprintf("%s (%s)", e.Requirement, obs))
		}
	}
	switch {
	case len(unexpected) > 0:
		return OutcomeFail, "violated: " + strings.Join(unexpected, ", ")
	case !evidenceOK:
		return OutcomeInconclusive, "the fault left no evidence: " + strings.Join(unmet, "; ")
	case !hasEvidence:
		return OutcomeInconclusive, "the scenario declares no evidence, so nothing shows its fault took effect"
	case len(missing) > 0:
		return OutcomeFail, "expected violation did not happen: " + strings.Join(missing, ", ")
	case len(undecided) > 0:
		return OutcomeInconclusive, "could not decide: " + strings.Join(undecided, ", ")
	}
	var expected, also []string
	for _, r := range results {
		if r.Expected {
			expected = append(expected, r.ID)
		} else if r.Status == Violated {
			also = append(also, r.ID)
		}
	}
	if len(expected) > 0 {
		reason := "violated as expected: " + strings.Join(expected, ", ")
		if len(also) > 0 {
			reason += "; also violated: " + strings.Join(also, ", ")
		}
		return OutcomePass, reason
	}
	return OutcomePass, "every checked invariant held and the fault left its evidence"
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.3g", f)
}

// DeriveCounters computes the history-derived evidence counters (see
// history.Counters with Source FromHistory).
func DeriveCounters(h *history.History) map[string]float64 {
	c := map[string]float64{}
	for _, info := range history.Counters {
		if info.Source == history.FromHistory {
			c[info.Name] = 0
		}
	}
	type svcMsg struct{ svc, id string }
	seen := map[svcMsg]bool{}
	firstPublish := map[string]time.Time{}
	for _, e := range h.AllEvents() {
		switch e.Kind {
		case history.KindPublish:
			if !e.BusinessPublish() {
				continue
			}
			c["publishes"]++
			if e.Republish > 0 {
				c["publishes.republished"]++
			}
			if e.PublishVia == "outbox" {
				c["publishes.outbox"]++
			}
			switch e.Confirm {
			case "nack":
				c["confirms.nacked"]++
			case "timeout":
				c["confirms.timeout"]++
			}
			if t, ok := firstPublish[e.MessageID]; !ok || e.Start.Before(t) {
				firstPublish[e.MessageID] = e.Start
			}
		case history.KindProcess:
			c["deliveries"]++
			if e.Redelivered {
				c["deliveries.redelivered"]++
			}
			if e.Attempt > 1 {
				c["deliveries.retried"]++
			}
			k := svcMsg{e.Service, e.MessageID}
			if seen[k] {
				c["deliveries.duplicated"]++
			}
			seen[k] = true
			if e.Dedup == history.DedupDuplicate {
				c["dedup.skips"]++
			}
			switch e.Order {
			case history.OrderStale:
				c["order.stale"]++
			case history.OrderEarly:
				c["order.early"]++
			}
			switch e.Outcome {
			case history.OutcomeFailed, history.OutcomeRetried, history.OutcomeRequeued:
				c["handlings.failed"]++
			case history.OutcomeDeadLettered:
				c["dead-lettered"]++
			}
		}
	}
	c["dead-letters"] = float64(len(h.Snapshot.DeadLetters))
	windows := faultWindows(h)
	for _, f := range h.Faults {
		if f.Applied() {
			c["faults.applied"]++
		}
	}
	for _, e := range h.AllEvents() {
		if e.Kind != history.KindProcess {
			continue
		}
		p, ok := firstPublish[e.MessageID]
		if !ok {
			continue
		}
		ms := float64(e.End.Sub(p)) / float64(time.Millisecond)
		name := "latency.baseline.max-ms"
		if inWindows(p, windows) {
			name = "latency.fault.max-ms"
		}
		c[name] = math.Max(c[name], ms)
	}
	return c
}

type window struct{ from, to time.Time }

// faultWindows are the intervals in which an applied fault was active; a
// fault without a heal lasts until the end of the run (the runner records an
// instantaneous fault, e.g. close-connections, with Healed = Started).
func faultWindows(h *history.History) []window {
	var ws []window
	for _, f := range h.Faults {
		if !f.Applied() {
			continue
		}
		to := f.Healed
		if to.IsZero() {
			to = h.Meta.End
		}
		if to.IsZero() {
			to = f.Started.Add(24 * time.Hour)
		}
		ws = append(ws, window{f.Started, to})
	}
	return ws
}

func inWindows(t time.Time, ws []window) bool {
	for _, w := range ws {
		if !t.Before(w.from) && !t.After(w.to) {
			return true
		}
	}
	return false
}
