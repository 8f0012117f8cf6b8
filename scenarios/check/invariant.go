package check

import (
	"errors"
	"slices"
)

// Invariant is a named guarantee with its checker: a generic one of the lab
// (Generic) or one a system brings (spec.Vocabulary.Invariants).
type Invariant struct {
	ID        string // TF8, Q1, TS3 …
	Name      string // BoundedRedelivery …
	Guarantee string // the promise, in one sentence
	Err       error  // sentinel: "broke ID Name – guarantee"
	// Check judges the history through v. Start the result with NewResult
	// and end it with Finish.
	Check func(inv Invariant, v *View) Result
}

// internal adapts a checker of the lab's own index.
func internal(f func(Invariant, *index) Result) func(Invariant, *View) Result {
	return func(inv Invariant, v *View) Result { return f(inv, v.x) }
}

// Sentinels, one per invariant; each message states the guarantee it broke.
var (
	ErrBoundedRedelivery = errors.New("broke TF8 BoundedRedelivery – a failing message is retried a bounded number of times and every dead letter is accounted for")
	ErrConnectedTraces   = errors.New("broke TF9 ConnectedTraces – every handling continues the trace of its publish, and each flow a system names is one trace")
	ErrQuiescence        = errors.New("broke TF10 Quiescence – every queue is drained and no delivery is left unacked when the run ends")
	ErrTotalQueue        = errors.New("broke Q1 TotalQueue – every message the broker confirmed is consumed or still in a queue, and nothing unpublished is consumed")
)

// Generic lists the invariants every system is judged by, in id order:
// Evaluate adds them after the system's own.
var Generic = []Invariant{
	{"TF8", "BoundedRedelivery", "a failing message is retried a bounded number of times and every dead letter is accounted for", ErrBoundedRedelivery, internal(checkBoundedRedelivery)},
	ConnectedTraces(),
	{"TF10", "Quiescence", "every queue is drained and no delivery is left unacked when the run ends", ErrQuiescence, internal(checkQuiescence)},
	{"Q1", "TotalQueue", "every message the broker confirmed is consumed or still in a queue, and nothing unpublished is consumed", ErrTotalQueue, internal(checkTotalQueue)},
}

// All returns what Evaluate judges: the system's own invariants, then the
// generic ones, where an invariant of the system with a generic one's id
// (e.g. a ConnectedTraces with the system's flows) takes its place.
func All(system []Invariant) []Invariant {
	var out []Invariant
	for _, inv := range system {
		if !slices.ContainsFunc(Generic, func(g Invariant) bool { return g.ID == inv.ID }) {
			out = append(out, inv)
		}
	}
	for _, g := range Generic {
		if i := slices.IndexFunc(system, func(inv Invariant) bool { return inv.ID == g.ID }); i >= 0 {
			g = system[i]
		}
		out = append(out, g)
	}
	return out
}

// Lookup finds an invariant of the system's or the generic ones by id
// ("TF2") or name ("ExactlyOnceEffects").
func Lookup(system []Invariant, idOrName string) (Invariant, bool) {
	all := All(system)
	i := slices.IndexFunc(all, func(inv Invariant) bool { return inv.ID == idOrName || inv.Name == idOrName })
	if i < 0 {
		return Invariant{}, false
	}
	return all[i], true
}

// IDs returns the ids of the system's and the generic invariants, in order.
func IDs(system []Invariant) []string {
	all := All(system)
	ids := make([]string, len(all))
	for i, inv := range all {
		ids[i] = inv.ID
	}
	return ids
}

// NewResult starts a passing result for inv; subject says what Checked
// counts ("accepted inquiries", "tickets").
func NewResult(inv Invariant, subject string) Result {
	return Result{Invariant: inv, ID: inv.ID, Name: inv.Name, Guarantee: inv.Guarantee, Status: Pass, Subject: subject}
}

func newResult(inv Invariant, subject string) Result { return NewResult(inv, subject) }
