package check

import (
	"fmt"
	"slices"
	"strings"
)

// Status is one invariant's result.
type Status string

// Invariant results.
const (
	Pass         Status = "PASS"
	Violated     Status = "VIOLATED"
	Inconclusive Status = "INCONCLUSIVE"
	Skipped      Status = "SKIPPED" // not selected by the scenario
)

// Category names what kind of anomaly a finding is, in the vocabulary of
// Jepsen and RabbitTestTool, so learners can map it to the literature.
type Category string

// Categories. Duplicated deliveries, recovered inquiries and accounted dead
// letters are legal: they appear as notes, never as violations.
const (
	Lost                  Category = "lost"
	DuplicatedEffect      Category = "duplicated effect"
	DuplicatedDelivery    Category = "duplicated delivery"
	Unexpected            Category = "unexpected"
	OutOfOrder            Category = "out of order"
	OutOfOrderRedelivered Category = "out of order (redelivered)"
	Recovered             Category = "recovered"
	Accounted             Category = "accounted (dead-lettered)"
	Diverged              Category = "diverged"
	Mismatch              Category = "oracle mismatch"
	UnboundedRedelivery   Category = "unbounded redelivery"
	UnaccountedDeadLetter Category = "unaccounted dead letter"
	BrokenTrace           Category = "broken trace"
	// Stuck is a missing effect or subject whose message (or an upstream
	// message of its flow) the broker still holds at the end: not lost, but
	// the run did not finish (TF10 Quiescence fails).
	Stuck Category = "stuck"
	// PossiblyStuck is a missing effect or subject that no held message
	// explains while some queue held more messages than the runner read:
	// it cannot be called lost.
	PossiblyStuck Category = "unaccounted (possibly stuck)"
	// DuplicatedDeliveryRedelivered is a repeat the broker flagged redelivered
	// (a lost ack, a dropped connection); plain DuplicatedDelivery is a repeat
	// without the flag, i.e. a duplicate publish (RabbitTestTool's split).
	DuplicatedDeliveryRedelivered Category = "duplicated delivery (redelivered)"
)

// Violation is one broken promise, with the message and trace ids a learner
// needs to find it in the traces.
type Violation struct {
	Category Category `json:"category"`
	Subject  string   `json:"subject"` // what it is about, e.g. "ticket 1f…"
	// Effect names which effect of the subject the finding is about
	// ("closure message"), when the checker knows; findings with the same
	// category, subject and effect are one defect (mergeFindings).
	Effect     string   `json:"effect,omitempty"`
	Detail     string   `json:"detail"`
	MessageIDs []string `json:"messageIds,omitempty"`
	TraceIDs   []string `json:"traceIds,omitempty"`

	queue string // where a stuck or possibly stuck subject is held (account)
}

// String renders the violation on one line.
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", v.Category, v.Subject)
	if v.Effect != "" {
		fmt.Fprintf(&b, " (%s)", v.Effect)
	}
	fmt.Fprintf(&b, ": %s", v.Detail)
	if len(v.MessageIDs) > 0 {
		fmt.Fprintf(&b, " [messages %s]", strings.Join(v.MessageIDs, ", "))
	}
	if len(v.TraceIDs) > 0 {
		fmt.Fprintf(&b, " [traces %s]", strings.Join(v.TraceIDs, ", "))
	}
	return b.String()
}

// Note counts a legal anomaly (duplicated delivery, recovered inquiry,
// accounted dead letter) so that the report can show that the fault bit.
type Note struct {
	Category Category `json:"category"`
	Count    int      `json:"count"`
	Example  string   `json:"example,omitempty"` // one subject
	TraceID  string   `json:"traceId,omitempty"` // one trace id
}

// Result is one invariant's verdict over a history.
type Result struct {
	Invariant  Invariant   `json:"-"`
	ID         string      `json:"invariant"`
	Name       string      `json:"name"`
	Guarantee  string      `json:"guarantee"`
	Status     Status      `json:"result"`
	Checked    int         `json:"checked"`          // subjects examined (inquiries, effects, tickets…)
	Subject    string      `json:"subject"`          // what Checked counts
	Reason     string      `json:"reason,omitempty"` // why INCONCLUSIVE or SKIPPED
	Violations []Violation `json:"violations,omitempty"`
	Notes      []Note      `json:"notes,omitempty"`
	// Expected is true when the scenario expects this invariant to be violated
	// (a negative control).
	Expected bool `json:"expectedViolated,omitempty"`
}

// Err is nil unless the invariant was violated; then it wraps the sentinel
// (errors.Is(r.Err(), ErrExactlyOnceEffects)) and names the first violation.
func (r Result) Err() error {
	if r.Status != Violated {
		return nil
	}
	first := ""
	if len(r.Violations) > 0 {
		first = ": " + r.Violations[0].String()
	}
	noun := "violations"
	if len(r.Violations) == 1 {
		noun = "violation"
	}
	return fmt.Errorf("%w (%d %s)%s", r.Invariant.Err, len(r.Violations), noun, first)
}

// Evidence summarises what the checker looked at and found, for the verdict table.
func (r Result) Evidence() string {
	if r.Status == Skipped || (r.Status == Inconclusive && r.Checked == 0) {
		return r.Reason
	}
	parts := []string{fmt.Sprintf("%d %s checked", r.Checked, r.Subject)}
	for _, c := range r.categories() {
		parts = append(parts, fmt.Sprintf("%d %s", c.n, c.cat))
	}
	for _, n := range r.Notes {
		parts = append(parts, fmt.Sprintf("%d %s (legal)", n.Count, n.Category))
	}
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	return strings.Join(parts, "; ")
}

type catCount struct {
	cat Category
	n   int
}

func (r Result) categories() []catCount {
	var out []catCount
	for _, v := range r.Violations {
		i := slices.IndexFunc(out, func(c catCount) bool { return c.cat == v.Category })
		if i < 0 {
			out = append(out, catCount{v.Category, 1})
			continue
		}
		out[i].n++
	}
	return out
}

// ExampleTraceID returns one trace id a learner can open: the first
// violation's, else the first note's.
func (r Result) ExampleTraceID() string {
	for _, v := range r.Violations {
		if len(v.TraceIDs) > 0 {
			return v.TraceIDs[0]
		}
	}
	for _, n := range r.Notes {
		if n.TraceID != "" {
			return n.TraceID
		}
	}
	return ""
}

// heldBack reports whether a finding is a gap the broker may still fill: the
// message is stuck in a queue, or possibly is (unread messages).
func (c Category) heldBack() bool { return c == Stuck || c == PossiblyStuck }

// mergeFindings folds findings about the same defect (same category, subject
// and effect) into one, in first-seen order: its detail cites every source
// ("committed 2 times … (spans); 2 closure messages … (rows …)") and its ids
// are the union. A checker that reads one defect from the spans and from a
// database then counts it once.
func mergeFindings(vs []Violation) []Violation {
	type key struct {
		cat             Category
		subject, effect string
	}
	at := make(map[key]int, len(vs))
	out := make([]Violation, 0, len(vs))
	for _, v := range vs {
		k := key{v.Category, v.Subject, v.Effect}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			v.MessageIDs, v.TraceIDs = slices.Clone(v.MessageIDs), slices.Clone(v.TraceIDs)
			out = append(out, v)
			continue
		}
		m := &out[i]
		if v.Detail != "" && !strings.Contains(m.Detail, v.Detail) {
			m.Detail += "; " + v.Detail
		}
		for _, id := range v.MessageIDs {
			m.MessageIDs = appendUnique(m.MessageIDs, id)
		}
		for _, id := range v.TraceIDs {
			m.TraceIDs = appendUnique(m.TraceIDs, id)
		}
	}
	return out
}

func prependUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append([]string{s}, list...)
}

// Notes accumulates legal findings by category.
type Notes []Note

type notes = Notes

// Add counts one legal finding of category c; the first of a category
// keeps its example subject and trace id.
func (ns *Notes) Add(c Category, example, trace string) { ns.add(c, example, trace) }

func (ns *Notes) add(c Category, example, trace string) {
	for i := range *ns {
		if (*ns)[i].Category == c {
			(*ns)[i].Count++
			if (*ns)[i].TraceID == "" {
				(*ns)[i].TraceID = trace
			}
			return
		}
	}
	*ns = append(*ns, Note{Category: c, Count: 1, Example: example, TraceID: trace})
}

func (ns notes) list() []Note { return []Note(ns) }

// List returns the notes, for Result.Notes.
func (ns Notes) List() []Note { return []Note(ns) }

// Finish sets VIOLATED when r has violations.
func Finish(r Result) Result { return finish(r) }

func finish(r Result) Result {
	if len(r.Violations) > 0 {
		r.Status = Violated
	}
	return r
}
