package spec

import (
	"cmp"
	"fmt"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// PlanOptions turn a scenario into one run.
type PlanOptions struct {
	// Control runs the scenario's negative control.
	Control bool
	// Seed, when non-nil, replaces the scenario's seed (--seed).
	Seed *int64
	// Unprotect switches more protections off (--unprotect dedup,outbox:sla).
	// A run with protections switched off this way and no control expects
	// nothing in particular: it still fails on any violation.
	Unprotect []string
}

// Plan is a scenario resolved for one run: seed applied, jitter drawn,
// protections settled per service, the control applied. The runner executes
// it step by step; the journal records it.
type Plan struct {
	Scenario    string
	Description string
	Tags        []string
	Control     bool
	Seed        int64
	// QueueType is the scenario's queueType ("" = the lab's own).
	QueueType string
	// Nodes is the scenario's cluster size (0 = the lab's own).
	Nodes int
	// Scale is the scenario's instances per service (nil: the system's
	// defaults).
	Scale map[string]int
	// PartitionHandling is the scenario's cluster_partition_handling ("" =
	// the lab's own).
	PartitionHandling string
	// Protections maps protection → service → on, for every protection and service.
	Protections map[string]map[string]bool
	// System is the scenario's system.
	System      string
	Workload    Workload
	SteadyState SteadyState
	// Timeline is the method in start order.
	Timeline []Scheduled
	// Rollbacks run once, at the end, always — also on error and Ctrl-C.
	Rollbacks []Step
	// End is when the method ends: the latest heal or start, and never before
	// the workload's last submission. Faults without a duration heal then. A
	// step keyed to an event counts at its earliest (at, at+duration); it may
	// fire and heal later.
	End        time.Duration
	Invariants []string
	Expect     history.Expectation
	Evidence   []history.Requirement
	// Profile is the system variant the run starts (profile.go).
	Profile string

	// services and protections order Off (the vocabulary's order).
	services, protections []string
}

// Scheduled is one step with its times drawn.
type Scheduled struct {
	Name   string
	At     time.Duration // start offset (jitter applied)
	HealAt time.Duration // heal offset; 0 for an instant action
	// When, when set, fires the step on an event at or after At. Every
	// step heals HealAt-At after its injection returned (the fault in
	// force).
	When *When
	// Until, when set, heals the step once it holds after the step fired,
	// and not before HealAt (counted from the firing for a when step).
	Until  *When
	Action Action
}

// Plan resolves the scenario for one run. The same scenario, options and seed
// always give the same plan.
func (s *Scenario) Plan(opts PlanOptions) (*Plan, error) {
	for _, u := range opts.Unprotect {
		if err := s.voc.checkUnprotect(u); err != nil {
			return nil, fmt.Errorf("--unprotect: %w", err)
		}
	}
	if opts.Control && s.Control == nil {
		return nil, fmt.Errorf("scenario %s has no negative control", s.Name)
	}
	p := &Plan{
		Scenario: s.Name, Description: s.Description, Tags: slices.Clone(s.Tags), Control: opts.Control,
		Seed: s.Seed, Workload: s.Workload, SteadyState: s.SteadyState, Rollbacks: s.Rollbacks,
		System: s.System, Invariants: canonicalInvariants(s.voc, s.Invariants), Evidence: requirements(s.Evidence),
		Expect:    history.Expectation{Violated: canonicalInvariants(s.voc, s.Expect.Violated)},
		QueueType: s.QueueType, Nodes: s.Nodes, PartitionHandling: s.PartitionHandling, Scale: maps.Clone(s.Scale),
	}
	if opts.Seed != nil {
		p.Seed = *opts.Seed
	}
	off := slices.Clone(opts.Unprotect)
	method := s.Method
	if opts.Control {
		c := s.Control
		off = append(off, c.Unprotect...)
		if len(c.Method) > 0 {
			method = c.Method
		}
		p.Expect = history.Expectation{Violated: canonicalInvariants(s.voc, c.Expect.Violated)}
		if len(c.Evidence) > 0 {
			p.Evidence = requirements(c.Evidence)
		}
		p.QueueType = cmp.Or(c.QueueType, p.QueueType)
		p.PartitionHandling = cmp.Or(c.PartitionHandling, p.PartitionHandling)
	}
	p.Protections = resolveProtections(s.voc, s.Protections, off)
	p.services, p.protections = s.voc.Services, s.voc.Protections
	p.Profile = s.profileFor(opts.Control)
	// One seeded source drives every random choice of the plan; the workload
	// generator and the injectors derive their own streams from Plan.Seed.
	rng := rand.New(rand.NewPCG(uint64(p.Seed), 0x5ce7a7105))
	if s.Workload.Config != nil {
		p.End = s.Workload.Config.Span()
	}
	for _, st := range method {
		at := st.At.D()
		if st.Jitter > 0 {
			at += time.Duration(rng.Int64N(int64(st.Jitter) + 1))
		}
		sc := Scheduled{Name: st.Name, At: at, When: st.When, Until: st.Until, Action: st.Action}
		if !st.Action.Instant() && st.Duration > 0 {
			sc.HealAt = at + st.Duration.D()
		}
		p.End = max(p.End, at, sc.HealAt)
		p.Timeline = append(p.Timeline, sc)
	}
	for i := range p.Timeline {
		if !p.Timeline[i].Action.Instant() && p.Timeline[i].HealAt == 0 {
			p.Timeline[i].HealAt = p.End
		}
	}
	sort.SliceStable(p.Timeline, func(i, j int) bool { return p.Timeline[i].At < p.Timeline[j].At })
	return p, nil
}

// resolveProtections applies the file's switches, then the unprotect list.
func resolveProtections(voc Vocabulary, ps Protections, off []string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, prot := range voc.Protections {
		out[prot] = map[string]bool{}
		sw := ps[prot]
		for _, svc := range voc.Services {
			on := true
			if sw.All != nil {
				on = *sw.All
			}
			if v, ok := sw.Services[svc]; ok {
				on = v
			}
			out[prot][svc] = on
		}
	}
	for _, u := range off {
		prot, svc, one := strings.Cut(u, ":")
		for _, s := range voc.Services {
			if !one || s == svc {
				out[prot][s] = false
			}
		}
	}
	return out
}

func canonicalInvariants(voc Vocabulary, ids []string) []string {
	var out []string
	for _, id := range ids {
		if inv, ok := check.Lookup(voc.Invariants, id); ok {
			out = append(out, inv.ID)
		}
	}
	return out
}

// Off lists "protection" (off everywhere) or "protection:service" entries
// that are off in the plan, for logs and the journal.
func (p *Plan) Off() []string {
	protections, services := p.ProtectionNames(), p.services
	if services == nil {
		// A plan built in code: its own services, sorted.
		for _, m := range p.Protections {
			for s := range m {
				if !slices.Contains(services, s) {
					services = append(services, s)
				}
			}
		}
		slices.Sort(services)
	}
	var out []string
	for _, prot := range protections {
		var svcs []string
		for _, s := range services {
			if !p.Protections[prot][s] {
				svcs = append(svcs, s)
			}
		}
		switch {
		case len(svcs) == 0:
		case len(svcs) == len(services):
			out = append(out, prot)
		default:
			for _, s := range svcs {
				out = append(out, prot+":"+s)
			}
		}
	}
	return out
}

// ProtectionNames lists the plan's protections in its system's vocabulary
// order (sorted for a plan built in code).
func (p *Plan) ProtectionNames() []string {
	if p.protections != nil {
		return slices.Clone(p.protections)
	}
	return sortedKeys(p.Protections)
}

// Meta is the history header for a run of this plan; the runner fills Start,
// End and Limits.
func (p *Plan) Meta() history.Meta {
	return history.Meta{
		SchemaVersion: history.SchemaVersion,
		Scenario:      p.Scenario,
		System:        p.System,
		Description:   p.Description,
		Control:       p.Control,
		Seed:          p.Seed,
		Protections:   p.Protections,
		Invariants:    p.Invariants,
		Expect:        p.Expect,
		Evidence:      p.Evidence,
	}
}

// Actions lists the actions of the plan's timeline, then of its rollbacks.
func (p *Plan) Actions() []Action {
	out := make([]Action, 0, len(p.Timeline)+len(p.Rollbacks))
	for _, s := range p.Timeline {
		out = append(out, s.Action)
	}
	for _, s := range p.Rollbacks {
		out = append(out, s.Action)
	}
	return out
}
