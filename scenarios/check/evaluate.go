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
	Probes   []ProbeResult      `json:"probes,omitempty"` // steady-state probes, before-probes first
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

// Evaluate judges a history by the system's invariants (its vocabulary's)
// and the generic ones (Generic). It sorts its events (h.Events, or h.Table when
// Events is empty) by start time in place.
//
// The verdict, in order:
//  1. a steady-state probe before the method failed → INCONCLUSIVE (exit 5),
//     "not started": the method never ran, so no invariant is judged (each is
//     SKIPPED);
//  2. an invariant violated that the run did not expect → FAIL (exit 4);
//  3. a steady-state probe after the run failed → FAIL (exit 4), "deviated":
//     the system did not return to its steady state, even when every
//     invariant held;
//  4. fault evidence missing (a requirement unmet or unrecorded) → INCONCLUSIVE
//     (exit 5): a fault that left no trace proves nothing, never PASS;
//  5. an expected violation that did not happen → FAIL (exit 4): the negative
//     control could not see the bug it is meant to catch;
//  6. a checked invariant that could not decide → INCONCLUSIVE (exit 5);
//  7. otherwise PASS (exit 0).
//
// TF10 (Quiescence) is judged in every run, also when the scenario selects
// its invariants, and Q1 (TotalQueue) likewise in every run on a cluster;
// every other result goes through account, which calls a gap the broker
// still holds stuck rather than lost and merges findings about one defect.
//
// A run that expects violations (a negative control: "at least these")
// ignores other violations and undecided invariants beyond listing them: with
// a protection off, one bug often breaks more than one guarantee. Likewise a
// failed after-probe does not decide a control: with a protection off the
// system often does not recover, so the probe is a row of the verdict and
// its reason ends in "; also deviated: …", but the outcome is the one rules
// 4–7 give. A run that violated something and also deviated says both
// ("violated: TF1; also deviated: …").
func Evaluate(h *history.History, system ...Invariant) Verdict {
	view := newView(h)
	v := Verdict{Control: h.Meta.Control, Counters: DeriveCounters(h)}
	for k, val := range h.Counters {
		if c, ok := history.LookupCounter(k); ok && c.Source == history.FromHistory {
			continue // derived counters are recomputed, never trusted from the runner
		}
		v.Counters[k] = val
	}
	v.Probes = probeResults(h.Probes)
	notStarted := failedProbes(v.Probes, history.ProbeBefore) != ""
	selected := map[string]bool{}
	for _, id := range h.Meta.Invariants {
		if inv, ok := Lookup(system, id); ok {
			selected[inv.ID] = true
		}
	}
	expected := map[string]bool{}
	for _, id := range h.Meta.Expect.Violated {
		if inv, ok := Lookup(system, id); ok {
			expected[inv.ID] = true
		}
	}
	for _, inv := range All(system) {
		switch {
		case notStarted:
			r := newResult(inv, "")
			r.Status, r.Reason = Skipped, "not judged: the run did not start"
			v.Results = append(v.Results, r)
			continue
		case len(h.Meta.Invariants) > 0 && !selected[inv.ID] && !expected[inv.ID] && inv.ID != quiescenceID &&
			(inv.ID != queueOracleID || !h.Meta.Cluster()):
			r := newResult(inv, "")
			r.Status, r.Reason = Skipped, "not selected by the scenario"
			v.Results = append(v.Results, r)
			continue
		}
		r := account(inv.Check(inv, view), h.Snapshot.Holdings)
		r.Invariant = inv
		r.Expected = expected[inv.ID]
		v.Results = append(v.Results, r)
	}
	for _, req := range h.Meta.Evidence {
		obs, present := v.Counters[req.Counter]
		met := present && req.Met(obs)
		v.Evidence = append(v.Evidence, EvidenceResult{Requirement: req.String(), Counter: req.Counter,
			Observed: obs, Present: present, Met: met})
	}
	v.Outcome, v.Reason = decide(v.Results, v.Evidence, v.Probes, len(h.Meta.Evidence) > 0)
	if reason, ok := neverFired(h.Faults, v.Outcome, v.Reason); ok {
		v.Outcome, v.Reason = OutcomeInconclusive, reason
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

// Reason prefixes of the steady-state rules.
const (
	reasonNotStarted = "not started: steady state not met before the method: "
	reasonDeviated   = "steady state not restored after the run: "
	reasonMissing    = "expected violation did not happen: "
)

// neverFired reports the steps whose `when` never came: the run did not do
// what the scenario says, so it proves nothing either way. It leaves a FAIL
// that the run's own findings decided (a violation nobody expected, a
// deviated steady state) and overrides the rest: a PASS, an undecided run,
// and a control whose expected violation did not happen.
func neverFired(faults []history.Fault, outcome Outcome, reason string) (string, bool) {
	var steps []string
	for _, f := range faults {
		if f.NeverFired {
			steps = append(steps, fmt.Sprintf("%s (when %s)", f.Name, f.When))
		}
	}
	if len(steps) == 0 || (outcome == OutcomeFail && !strings.HasPrefix(reason, reasonMissing)) {
		return "", false
	}
	return "step never fired, so it was not applied: " + strings.Join(steps, "; "), true
}

// decide applies Evaluate's rules to the judged rows.
func decide(results []Result, evidence []EvidenceResult, probes []ProbeResult, hasEvidence bool) (Outcome, string) {
	if failed := failedProbes(probes, history.ProbeBefore); failed != "" {
		return OutcomeInconclusive, reasonNotStarted + failed
	}
	control := slices.ContainsFunc(results, func(r Result) bool { return r.Expected })
	deviated := failedProbes(probes, history.ProbeAfter)
	also := func(o Outcome, reason string) (Outcome, string) {
		if deviated != "" {
			reason += "; also deviated: " + reasonDeviated + deviated
		}
		return o, reason
	}
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
	evidenceOK := true
	var unmet []string
	for _, e := range evidence {
		if !e.Met {
			evidenceOK = false
			obs := "not recorded"
			switch {
			case e.Present:
				obs = fmt.Sprintf("observed %s", formatNumber(e.Observed))
			case history.NeedsManagement(e.Counter):
				obs = "not recorded: needs --management-url"
			}
			unmet = append(unmet, fmt.Sprintf("%s (%s)", e.Requirement, obs))
		}
	}
	switch {
	case len(unexpected) > 0:
		return also(OutcomeFail, "violated: "+strings.Join(unexpected, ", "))
	case deviated != "" && !control:
		return OutcomeFail, "deviated: " + reasonDeviated + deviated
	case !evidenceOK:
		return also(OutcomeInconclusive, "the fault left no evidence: "+strings.Join(unmet, "; "))
	case !hasEvidence:
		return also(OutcomeInconclusive, "the scenario declares no evidence, so nothing shows its fault took effect")
	case len(missing) > 0:
		return also(OutcomeFail, reasonMissing+strings.Join(missing, ", "))
	case len(undecided) > 0:
		return also(OutcomeInconclusive, "could not decide: "+strings.Join(undecided, ", "))
	}
	var expected, alsoViolated []string
	for _, r := range results {
		if r.Expected {
			expected = append(expected, r.ID)
		} else if r.Status == Violated {
			alsoViolated = append(alsoViolated, r.ID)
		}
	}
	if len(expected) > 0 {
		reason := "violated as expected: " + strings.Join(expected, ", ")
		if len(alsoViolated) > 0 {
			reason += "; also violated: " + strings.Join(alsoViolated, ", ")
		}
		return also(OutcomePass, reason)
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
	announced := map[string]bool{}
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
			if strings.HasPrefix(e.MessageType, "Fault.") && !announced[e.MessageID] {
				announced[e.MessageID] = true
				c["publishes.fault-announcements"]++
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
	for _, e := range h.EventsWhere(isProcess) {
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
