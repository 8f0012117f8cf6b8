package check

import (
	"errors"
	"slices"
)

// Invariant is a named guarantee of Ticketflow with its checker.
type Invariant struct {
	ID        string // TF1 … TF10, Q1
	Name      string // NoLostInquiry …
	Guarantee string // the promise, in one sentence
	Err       error  // sentinel: "broke TFn Name – guarantee"
	check     func(Invariant, *index) Result
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

// Invariants lists every invariant in id order.
var Invariants = []Invariant{
	{"TF1", "NoLostInquiry", "every accepted inquiry is stored and becomes a ticket", ErrNoLostInquiry, checkNoLostInquiry},
	{"TF2", "ExactlyOnceEffects", "every side effect (closure message, alert, reminder, deadline) happens exactly once", ErrExactlyOnceEffects, checkExactlyOnceEffects},
	{"TF3", "SLAVersionOrder", "SLA applies each ticket's events in version order", ErrSLAVersionOrder, checkSLAVersionOrder},
	{"TF4", "TranslationCompleteness", "every non-English ticket gets its English translation", ErrTranslationCompleteness, checkTranslationCompleteness},
	{"TF5", "SLAOracle", "SLA deadlines and reminder times match the SLA rules", ErrSLAOracle, checkSLAOracle},
	{"TF6", "CrossServiceConvergence", "all services agree on each inquiry and ticket at quiescence", ErrConvergence, checkConvergence},
	{"TF7", "NoGhostEvents", "nothing is published for a change that was rolled back", ErrNoGhostEvents, checkNoGhostEvents},
	{"TF8", "BoundedRedelivery", "a failing message is retried a bounded number of times and every dead letter is accounted for", ErrBoundedRedelivery, checkBoundedRedelivery},
	{"TF9", "ConnectedTraces", "each inquiry's flow is one connected trace", ErrConnectedTraces, checkConnectedTraces},
	{"TF10", "Quiescence", "every queue is drained and no delivery is left unacked when the run ends", ErrQuiescence, checkQuiescence},
	{"Q1", "TotalQueue", "every message the broker confirmed is consumed or still in a queue, and nothing unpublished is consumed", ErrTotalQueue, checkTotalQueue},
}

// Lookup finds an invariant by id ("TF2") or name ("ExactlyOnceEffects").
func Lookup(idOrName string) (Invariant, bool) {
	i := slices.IndexFunc(Invariants, func(inv Invariant) bool { return inv.ID == idOrName || inv.Name == idOrName })
	if i < 0 {
		return Invariant{}, false
	}
	return Invariants[i], true
}

// IDs returns every invariant id in order.
func IDs() []string {
	ids := make([]string, len(Invariants))
	for i, inv := range Invariants {
		ids[i] = inv.ID
	}
	return ids
}

// newResult starts a result for inv.
func newResult(inv Invariant, subject string) Result {
	return Result{Invariant: inv, ID: inv.ID, Name: inv.Name, Guarantee: inv.Guarantee, Status: Pass, Subject: subject}
}
