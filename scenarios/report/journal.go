package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// JournalSchemaVersion versions journal.json; bump it on incompatible changes.
// Version 2: verdicts holds the steady-state probes too (kind "steady-state").
const JournalSchemaVersion = 2

// Journal is journal.json: the machine-readable record of one run — what ran
// (scenario, seed, protections, the timeline as executed), what happened
// (counts, counters, evidence) and what was decided (verdicts).
type Journal struct {
	SchemaVersion int                        `json:"schemaVersion"`
	Scenario      ScenarioInfo               `json:"scenario"`
	Seed          int64                      `json:"seed"`
	Protections   map[string]map[string]bool `json:"protections"`
	Unprotected   []string                   `json:"unprotected"` // "dedup" or "dedup:sla"
	Start         time.Time                  `json:"start"`
	End           time.Time                  `json:"end"`
	Duration      history.Duration           `json:"duration"`
	Timeline      []TimelineEntry            `json:"timeline"`
	Counts        Counts                     `json:"counts"`
	Counters      map[string]float64         `json:"counters"`
	Evidence      []check.EvidenceResult     `json:"evidence"`
	Verdicts      []InvariantVerdict         `json:"verdicts"`
	Verdict       Verdict                    `json:"verdict"`
}

// ScenarioInfo names the scenario and the kind of run.
type ScenarioInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Control     bool     `json:"control"`
	Expect      []string `json:"expectViolated,omitempty"`
}

// TimelineEntry is one fault as executed; offsets are from the run's start.
type TimelineEntry struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Op        string            `json:"op,omitempty"`
	Target    string            `json:"target,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
	PlannedAt history.Duration  `json:"plannedAt"`
	// When is the event the step waited for; NeverFired: it never came, so
	// the step was not applied.
	When       string `json:"when,omitempty"`
	NeverFired bool   `json:"neverFired,omitempty"`
	// Until is the condition that healed the step (after its duration);
	// UntilNeverHeld: it had not held by the give-up time, which healed it.
	Until          string            `json:"until,omitempty"`
	UntilNeverHeld bool              `json:"untilNeverHeld,omitempty"`
	StartedAt      *history.Duration `json:"startedAt,omitempty"`
	HealedAt       *history.Duration `json:"healedAt,omitempty"`
	Error          string            `json:"error,omitempty"`
	HealError      string            `json:"healError,omitempty"`
}

// Counts sizes the run: the system's workload counts, the lab's spans,
// publishes and handlings, the system's snapshot counts, the dead letters.
// It is written as one JSON object in that order.
type Counts []history.Count

// Lab count names.
const (
	CountSpans       = "spans"
	CountPublishes   = "publishes"
	CountHandlings   = "handlings"
	CountDeadLetters = "deadLetters"
)

// NewCounts orders the system's counts around the lab's counts of h.
func NewCounts(h *history.History, system []history.Count) Counts {
	var pubs, procs int
	for i := range h.Events {
		switch h.Events[i].Kind {
		case history.KindPublish:
			pubs++
		case history.KindProcess:
			procs++
		}
	}
	var out Counts
	of := func(what string) {
		for _, c := range system {
			if c.Of == what {
				out = append(out, c)
			}
		}
	}
	of(history.CountWorkload)
	out = append(out, history.Count{Name: CountSpans, N: len(h.Events)}, history.Count{Name: CountPublishes, N: pubs},
		history.Count{Name: CountHandlings, N: procs})
	of(history.CountSnapshot)
	return append(out, history.Count{Name: CountDeadLetters, Label: "dead letters", N: len(h.Snapshot.DeadLetters)})
}

// Get returns the count called name (0 when absent).
func (cs Counts) Get(name string) int {
	for _, c := range cs {
		if c.Name == name {
			return c.N
		}
	}
	return 0
}

// MarshalJSON writes {"name": n, …} in order.
func (cs Counts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%s:%d", k, c.N)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object back in its order (labels are lost).
func (cs *Counts) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return err
	}
	*cs = nil
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var n int
		if err := dec.Decode(&n); err != nil {
			return err
		}
		*cs = append(*cs, history.Count{Name: fmt.Sprint(tok), N: n})
	}
	return nil
}

// Kinds of verdict rows.
const (
	KindInvariant   = "invariant"
	KindSteadyState = "steady-state"
)

// InvariantVerdict is one row of the journal's verdicts: an invariant's
// result (Kind "invariant") or a steady-state probe's (Kind "steady-state":
// Phase, Probe and Took are set, Result is PASS, NOT MET or DEVIATED and
// Evidence holds the probe's detail). Rows run in the order of the verdict
// table: probes before the method, invariants, probes after the run.
type InvariantVerdict struct {
	Kind             string            `json:"kind"`
	Invariant        string            `json:"invariant,omitempty"`
	Phase            string            `json:"phase,omitempty"`
	Probe            string            `json:"probe,omitempty"`
	Name             string            `json:"name"`
	Guarantee        string            `json:"guarantee,omitempty"`
	Result           check.Status      `json:"result"`
	ExpectedViolated bool              `json:"expectedViolated,omitempty"`
	Checked          int               `json:"checked,omitempty"`
	Evidence         string            `json:"evidence"`
	Took             history.Duration  `json:"took,omitempty"`
	ExampleTraceID   string            `json:"exampleTraceId,omitempty"`
	Violations       []check.Violation `json:"violations,omitempty"`
	Notes            []check.Note      `json:"notes,omitempty"`
}

// Verdict is the run's outcome and exit code.
type Verdict struct {
	Outcome  check.Outcome `json:"outcome"`
	ExitCode int           `json:"exitCode"`
	Reason   string        `json:"reason"`
}

// NewJournal builds the journal of a judged history; counts are the
// system's (sut.System.Counts).
func NewJournal(h *history.History, v check.Verdict, counts ...history.Count) *Journal {
	j := &Journal{
		SchemaVersion: JournalSchemaVersion,
		Scenario: ScenarioInfo{Name: h.Meta.Scenario, Description: h.Meta.Description, Control: h.Meta.Control,
			Expect: h.Meta.Expect.Violated},
		Seed:        h.Meta.Seed,
		Protections: h.Meta.Protections,
		Unprotected: Unprotected(h.Meta.Protections),
		Start:       h.Meta.Start,
		End:         h.Meta.End,
		Duration:    history.Duration(h.Meta.End.Sub(h.Meta.Start)),
		Counters:    v.Counters,
		Evidence:    v.Evidence,
		Verdict:     Verdict{Outcome: v.Outcome, ExitCode: v.ExitCode, Reason: v.Reason},
	}
	for _, f := range h.Faults {
		e := TimelineEntry{Name: f.Name, Type: f.Type, Op: f.Op, Target: f.Target, Params: f.Params,
			PlannedAt: f.PlannedAt, When: f.When, NeverFired: f.NeverFired, Until: f.Until, UntilNeverHeld: f.UntilNeverHeld,
			Error: f.Error, HealError: f.HealError}
		if !f.Started.IsZero() {
			d := history.Duration(f.Started.Sub(h.Meta.Start))
			e.StartedAt = &d
		}
		if !f.Healed.IsZero() {
			d := history.Duration(f.Healed.Sub(h.Meta.Start))
			e.HealedAt = &d
		}
		j.Timeline = append(j.Timeline, e)
	}
	j.Counts = NewCounts(h, counts)
	probes := func(phase string) {
		for _, p := range v.Probes {
			if p.Phase == phase {
				j.Verdicts = append(j.Verdicts, InvariantVerdict{Kind: KindSteadyState, Phase: p.Phase, Probe: p.Name,
					Name: p.Title(), Result: p.Status(), Evidence: p.Detail, Took: p.Took})
			}
		}
	}
	probes(history.ProbeBefore)
	for _, r := range v.Results {
		j.Verdicts = append(j.Verdicts, InvariantVerdict{
			Kind: KindInvariant, Invariant: r.ID, Name: r.Name, Guarantee: r.Guarantee, Result: r.Status, ExpectedViolated: r.Expected,
			Checked: r.Checked, Evidence: r.Evidence(), ExampleTraceID: r.ExampleTraceID(),
			Violations: r.Violations, Notes: r.Notes,
		})
	}
	probes(history.ProbeAfter)
	return j
}

// WriteJournal writes the journal as indented JSON.
func WriteJournal(w io.Writer, j *Journal) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(j); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	return nil
}

// ReadJournal reads a journal written by WriteJournal.
func ReadJournal(r io.Reader) (*Journal, error) {
	var j Journal
	if err := json.NewDecoder(r).Decode(&j); err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	if j.SchemaVersion != JournalSchemaVersion {
		return nil, fmt.Errorf("read journal: schema version %d, this tflab reads %d", j.SchemaVersion, JournalSchemaVersion)
	}
	return &j, nil
}

// Unprotected lists what is switched off: "dedup" when off for every
// service, else "dedup:sla" per service.
func Unprotected(p map[string]map[string]bool) []string {
	out := []string{}
	for _, prot := range slices.Sorted(maps.Keys(p)) {
		svcs := p[prot]
		var off []string
		for s, on := range svcs {
			if !on {
				off = append(off, s)
			}
		}
		sort.Strings(off)
		switch {
		case len(off) == 0:
		case len(off) == len(svcs):
			out = append(out, prot)
		default:
			for _, s := range off {
				out = append(out, prot+":"+s)
			}
		}
	}
	return out
}
