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
	ErrNoLostInquiry           = errors.New("broke TF1 NoLostInquiry – every accepted inquiry is stored and becomes a ticket")
	ErrExactlyOnceEffects      = errors.New("broke TF2 ExactlyOnceEffects – every side effect (closure message, alert, reminder, deadline) happens exactly once")
	ErrSLAVersionOrder         = errors.New("broke TF3 SLAVersionOrder – SLA applies each ticket's events in version order")
	ErrTranslationCompleteness = errors.New("broke TF4 TranslationCompleteness – every non-English ticket gets its English translation")
	ErrSLAOracle               = errors.New("broke TF5 SLAOracle – SLA deadlines and reminder times match the SLA rules")
	ErrConvergence             = errors.New("broke TF6 CrossServiceConvergence – all services agree on each inquiry and ticket at quiescence")
	ErrNoGhostEvents           = errors.New("broke TF7 NoGhostEvents – nothing is published for a change that was rolled back")
	ErrBoundedRedelivery       = errors.New("broke TF8 BoundedRedelivery – a failing message is retried a bounded number of times and every dead letter is accounted for")
	ErrConnectedTraces         = errors.New("broke TF9 ConnectedTraces – each inquiry's flow is one connected trace")
	ErrQuiescence              = errors.New("broke TF10 Quiescence – every queue is drained and no delivery is left unacked when the run ends")
	ErrTotalQueue              = errors.New("broke Q1 TotalQueue – every message the broker confirmed is consumed or still in a queue, and nothing unpublished is consumed")
)

// Ticketflow lists Ticketflow's own invariants TF1–TF7, which it passes
// to Evaluate through its vocabulary.
var Ticketflow = []Invariant{
	{"TF1", "NoLostInquiry", "every accepted inquiry is stored and becomes a ticket", ErrNoLostInquiry, internal(checkNoLostInquiry)},
	{"TF2", "ExactlyOnceEffects", "every side effect (closure message, alert, reminder, deadline) happens exactly once", ErrExactlyOnceEffects, internal(checkExactlyOnceEffects)},
	{"TF3", "SLAVersionOrder", "SLA applies each ticket's events in version order", ErrSLAVersionOrder, internal(checkSLAVersionOrder)},
	{"TF4", "TranslationCompleteness", "every non-English ticket gets its English translation", ErrTranslationCompleteness, internal(checkTranslationCompleteness)},
	{"TF5", "SLAOracle", "SLA deadlines and reminder times match the SLA rules", ErrSLAOracle, internal(checkSLAOracle)},
	{"TF6", "CrossServiceConvergence", "all services agree on each inquiry and ticket at quiescence", ErrConvergence, internal(checkConvergence)},
	{"TF7", "NoGhostEvents", "nothing is published for a change that was rolled back", ErrNoGhostEvents, internal(checkNoGhostEvents)},
}

// Generic lists the invariants every system is judged by, in id order:
// Evaluate adds them after the system's own.
var Generic = []Invariant{
	{"TF8", "BoundedRedelivery", "a failing message is retried a bounded number of times and every dead letter is accounted for", ErrBoundedRedelivery, internal(checkBoundedRedelivery)},
	{"TF9", "ConnectedTraces", "each inquiry's flow is one connected trace", ErrConnectedTraces, internal(checkConnectedTraces)},
	{"TF10", "Quiescence", "every queue is drained and no delivery is left unacked when the run ends", ErrQuiescence, internal(checkQuiescence)},
	{"Q1", "TotalQueue", "every message the broker confirmed is consumed or still in a queue, and nothing unpublished is consumed", ErrTotalQueue, internal(checkTotalQueue)},
}

// Invariants lists Ticketflow's and the generic invariants in id order.
var Invariants = append(slices.Clone(Ticketflow), Generic...)

// All returns a system's invariants followed by the generic ones: what
// Evaluate judges.
func All(system []Invariant) []Invariant {
	return append(slices.Clip(system), Generic...)
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
