package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// When keys a step to an event of the run instead of (or after) the wall
// clock. Exactly one form is set:
//
//   - span:    {service, messageType, event: handled|published, count}: the
//     count-th distinct message of that type the service handled (its
//     handling span ended) or published (the broker confirmed it; a
//     publish given up unconfirmed does not count), counted from the
//     method's start;
//   - step:    {step, phase: started|healed}: another step of the method
//     was injected or healed;
//   - counter: {counter, op, value}: a live counter compares true.
//
// With `at` the step fires at the first moment at or after `at` when the
// condition holds; without, as soon as it holds; `delay` later still. A
// step's duration counts from the moment it is in force (its injection
// returned), which is also when it counts as `started`.
type When struct {
	Service     string `yaml:"service"`
	MessageType string `yaml:"messageType"`
	Event       string `yaml:"event"`
	Count       int    `yaml:"count"`

	Step  string `yaml:"step"`
	Phase string `yaml:"phase"`

	Counter string  `yaml:"counter"`
	Op      string  `yaml:"op"`
	Value   float64 `yaml:"value"`

	// Delay waits this long after the condition held before firing.
	Delay Duration `yaml:"delay"`
}

// Span events, step phases and comparison operators of a When.
const (
	EventHandled   = "handled"
	EventPublished = "published"
	PhaseStarted   = "started"
	PhaseHealed    = "healed"
)

var (
	// WhenEvents are the span events a When counts.
	WhenEvents = []string{EventHandled, EventPublished}
	// WhenPhases are the step phases a When waits for.
	WhenPhases = []string{PhaseStarted, PhaseHealed}
	// WhenOps are the comparisons of the counter form.
	WhenOps = []string{">", ">=", "<", "<=", "=="}
)

// When forms.
const (
	WhenSpan    = "span"
	WhenStep    = "step"
	WhenCounter = "counter"
)

// LiveSpanCounters are counted by the runner from the spans as they are
// written, with the meaning history.Counters gives them.
var LiveSpanCounters = []string{"deliveries", "deliveries.redelivered", "dedup.skips", "dead-lettered", "publishes", "publishes.republished"}

// CounterOutboxPending is the live counter of outbox rows not yet relayed.
const CounterOutboxPending = "outbox.pending"

// Live counters of the workload: items it has submitted, and items the
// system accepted, so far.
const (
	CounterWorkloadSubmitted = "workload.submitted"
	CounterWorkloadAccepted  = "workload.accepted"
)

// LiveCounters lists every counter a When may watch: the span counters, the
// runner-observed evidence counters (history.FromRunner), outbox.pending
// (rows not yet relayed, summed over the services' databases at each poll)
// and the workload's workload.submitted and workload.accepted.
func LiveCounters() []string {
	out := slices.Clone(LiveSpanCounters)
	for _, c := range history.Counters {
		if c.Source == history.FromRunner {
			out = append(out, c.Name)
		}
	}
	return append(out, CounterOutboxPending, CounterWorkloadSubmitted, CounterWorkloadAccepted)
}

// Form says which of the three forms w uses ("" when none is set).
func (w *When) Form() string {
	switch {
	case w.Step != "" || w.Phase != "":
		return WhenStep
	case w.Counter != "" || w.Op != "":
		return WhenCounter
	case w.Service != "" || w.MessageType != "" || w.Event != "" || w.Count != 0:
		return WhenSpan
	}
	return ""
}

// forms lists every form w has a field of.
func (w *When) forms() []string {
	var out []string
	if w.Service != "" || w.MessageType != "" || w.Event != "" || w.Count != 0 {
		out = append(out, WhenSpan)
	}
	if w.Step != "" || w.Phase != "" {
		out = append(out, WhenStep)
	}
	if w.Counter != "" || w.Op != "" || w.Value != 0 {
		out = append(out, WhenCounter)
	}
	return out
}

// setDefaults fills event (handled), count (1) and phase (started).
func (w *When) setDefaults() {
	switch w.Form() {
	case WhenSpan:
		if w.Event == "" {
			w.Event = EventHandled
		}
		if w.Count == 0 {
			w.Count = 1
		}
	case WhenStep:
		if w.Phase == "" {
			w.Phase = PhaseStarted
		}
	}
}

// Holds reports whether the counter form's comparison holds for v.
func (w *When) Holds(v float64) bool {
	switch w.Op {
	case ">":
		return v > w.Value
	case ">=":
		return v >= w.Value
	case "<":
		return v < w.Value
	case "<=":
		return v <= w.Value
	case "==":
		return v == w.Value
	}
	return false
}

// String is the condition as a line of the plan, e.g. "sla handled
// TicketQualified ≥5", "broker-down healed", "outbox.pending > 3",
// "memory-alarm started, +3s".
func (w *When) String() string {
	if w.Delay > 0 {
		return w.condition() + ", +" + w.Delay.String()
	}
	return w.condition()
}

func (w *When) condition() string {
	switch w.Form() {
	case WhenSpan:
		svc := w.Service
		if svc == "" {
			svc = "any service"
		}
		return fmt.Sprintf("%s %s %s ≥%d", svc, w.Event, w.MessageType, w.Count)
	case WhenStep:
		return w.Step + " " + w.Phase
	case WhenCounter:
		return fmt.Sprintf("%s %s %s", w.Counter, w.Op, strconv.FormatFloat(w.Value, 'g', -1, 64))
	}
	return "never"
}

// validateWhen checks one step's when (path is the step's path).
func validateWhen(v *validator, path string, st Step, steps []Step) {
	w := st.When
	if w.Delay < 0 {
		v.errorf(path+".when.delay", "must not be negative")
	}
	if !st.Action.Instant() && st.Duration == 0 {
		v.errorf(path+".duration", "a step keyed to when fires at a time the plan cannot know: give it a duration")
	}
	validateCondition(v, path+".when", "when", w, st.Name, steps)
}

// validateUntil checks one step's until (path is the step's path).
func validateUntil(v *validator, path string, st Step, steps []Step) {
	if st.Action.Instant() {
		v.errorf(path+".until", "%s is instant: it has no heal to key to until", st.Action.Describe())
		return
	}
	if st.Duration == 0 {
		v.errorf(path+".duration", "a step with until needs a duration: the least time it holds, and the plan's estimate")
	}
	if st.Until.Delay != 0 {
		v.errorf(path+".until.delay", "until takes no delay: lengthen the duration instead")
	}
	validateCondition(v, path+".until", "until", st.Until, st.Name, steps)
}

// validateHold checks the workload's hold against the method's steps.
func validateHold(v *validator, h *Hold, steps []Step) {
	if h.After < 1 {
		v.errorf("workload.hold.after", "want at least 1 request before the hold, got %d", h.After)
	}
	if h.Until.Delay < 0 {
		v.errorf("workload.hold.until.delay", "must not be negative")
	}
	validateCondition(v, "workload.hold.until", "until", &h.Until, "", steps)
}

// validateCondition checks the form of a when, until or hold condition p;
// self is the step it belongs to ("" for the workload's hold).
func validateCondition(v *validator, p, what string, w *When, self string, steps []Step) {
	forms := w.forms()
	switch {
	case len(forms) == 0:
		v.errorf(p, "%s needs one of: {service, messageType, event, count}, {step, phase} or {counter, op, value}", what)
		return
	case len(forms) > 1:
		v.errorf(p, "%s mixes the %s forms: use one", what, strings.Join(forms, " and "))
		return
	}
	switch forms[0] {
	case WhenSpan:
		if w.Service != "" {
			v.name(p+".service", "service", w.Service, v.voc.Services)
		}
		v.name(p+".messageType", "message type", w.MessageType, v.voc.MessageTypes)
		oneOf(v, p+".event", "event", w.Event, WhenEvents)
		if w.Count < 1 {
			v.errorf(p+".count", "want a count of at least 1, got %d", w.Count)
		}
	case WhenStep:
		oneOf(v, p+".phase", "phase", w.Phase, WhenPhases)
		if self != "" && w.Step == self {
			v.errorf(p+".step", "step %q waits for itself", w.Step)
			return
		}
		if !slices.ContainsFunc(steps, func(o Step) bool { return o.Name == w.Step }) {
			v.errorf(p+".step", "no step named %q in this method%s", w.Step, suggest(w.Step, stepNames(steps)))
		}
	case WhenCounter:
		if w.Counter == "" {
			v.errorf(p+".counter", "counter is required (one of %s)", strings.Join(LiveCounters(), ", "))
		} else if !slices.Contains(LiveCounters(), w.Counter) {
			v.errorf(p+".counter", "unknown live counter %q%s", w.Counter, suggest(w.Counter, LiveCounters()))
		}
		oneOf(v, p+".op", "op", w.Op, WhenOps)
	}
}

// validateWhenCycles reports each step whose when waits, through other
// steps, for itself.
func validateWhenCycles(v *validator, path string, steps []Step) {
	next := map[string]string{}
	for _, st := range steps {
		if st.When != nil && st.When.Form() == WhenStep && st.When.Step != st.Name {
			next[st.Name] = st.When.Step
		}
	}
	for i, st := range steps {
		seen := map[string]bool{st.Name: true}
		chain := []string{st.Name}
		for n, ok := next[st.Name]; ok; n, ok = next[n] {
			chain = append(chain, n)
			if n == st.Name {
				v.errorf(fmt.Sprintf("%s[%d].when.step", path, i), "when steps wait for each other in a cycle: %s", strings.Join(chain, " → "))
				break
			}
			if seen[n] {
				break // a cycle that does not pass through st; reported at its own steps
			}
			seen[n] = true
		}
	}
}

func stepNames(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Name
	}
	return out
}

// whenDefaults fills the defaults of every step's when and until.
func whenDefaults(steps []Step) {
	for i := range steps {
		if steps[i].When != nil {
			steps[i].When.setDefaults()
		}
		if steps[i].Until != nil {
			steps[i].Until.setDefaults()
		}
	}
}
