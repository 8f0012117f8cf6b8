package invariants

import (
	"errors"
	"slices"

	"github.com/ticketflow-lab/tflab/scenarios/check"
)

// Mode says when an invariant holds: on every prefix of the run, or once
// the run is quiescent.
type Mode string

// Modes (spec C.5).
const (
	Always     Mode = "always"
	Quiescence Mode = "quiescence"
)

// Invariant is one of ticketsale's guarantees with its checker.
type Invariant struct {
	ID        string // TS1 … TS13
	Name      string // NoTicketSoldTwice …
	Guarantee string // the promise, in one sentence
	Mode      Mode
	Err       error // sentinel: "broke TSn Name – guarantee"
	check     func(Invariant, Input) check.Result
}

// Check judges the invariant over in.
func (inv Invariant) Check(in Input) check.Result {
	if in.Snapshot == nil {
		r := inv.result("records")
		r.Status, r.Reason = check.Inconclusive, "no ticketsale snapshot was taken"
		return r
	}
	return inv.check(inv, in)
}

// Def is the invariant as scenarios/check describes one (id, name,
// guarantee, sentinel).
func (inv Invariant) Def() check.Invariant {
	return check.Invariant{ID: inv.ID, Name: inv.Name, Guarantee: inv.Guarantee, Err: inv.Err}
}

// result starts a passing result that counts subject.
func (inv Invariant) result(subject string) check.Result {
	return check.Result{Invariant: inv.Def(), ID: inv.ID, Name: inv.Name, Guarantee: inv.Guarantee, Status: check.Pass, Subject: subject}
}

// finish marks r violated when it holds a violation, inconclusive when it
// checked nothing (with reason).
func finish(r check.Result, reason string) check.Result {
	switch {
	case len(r.Violations) > 0:
		r.Status = check.Violated
	case r.Checked == 0:
		r.Status, r.Reason = check.Inconclusive, reason
	}
	return r
}

// Sentinels, one per invariant; each message states the guarantee it broke.
var (
	ErrNoTicketSoldTwice        = errors.New("broke TS1 NoTicketSoldTwice – per ticket at most one complete order and at most one charge not refunded")
	ErrOneActiveOrderPerTicket  = errors.New("broke TS2 OneActiveOrderPerTicket – at most one created, awaiting:payment or complete order per ticket at any time")
	ErrOrdersTerminate          = errors.New("broke TS3 OrdersTerminate – every order is cancelled or complete by its expiresAt plus grace")
	ErrTerminalStatesFinal      = errors.New("broke TS4 TerminalStatesFinal – a cancelled or complete order never changes status again")
	ErrReservationConsistency   = errors.New("broke TS5 ReservationConsistency – a ticket's orderId is its active order, or empty when it has none")
	ErrReservedNotEditable      = errors.New("broke TS6 ReservedNotEditable – no price or title change is accepted while an order holds the ticket")
	ErrVersionSequence          = errors.New("broke TS7 VersionSequence – every store applies each record's versions one by one: never backwards, never skipping")
	ErrReplicaConvergence       = errors.New("broke TS8 ReplicaConvergence – at quiescence every replica equals its master")
	ErrNoLostEvent              = errors.New("broke TS9 NoLostEvent – every committed change is published and handled by every subscribing service")
	ErrBoundedHandling          = errors.New("broke TS10 BoundedHandling – no service handles one message more than a bounded number of times")
	ErrChargesMatchOrders       = errors.New("broke TS11 ChargesMatchOrders – every charge not refunded belongs to a complete order, at most one per order")
	ErrExpirationAtMostOnce     = errors.New("broke TS12 ExpirationAtMostOnce – each order expires at most once, and not before its expiresAt")
	ErrReplicasFollowLastUpdate = errors.New("broke TS13 ReplicasFollowLastUpdate – after the price script every orders replica holds each ticket's last price")
)

// All lists ticketsale's invariants in id order.
var All = []Invariant{
	{"TS1", "NoTicketSoldTwice", "per ticket at most one complete order and at most one charge not refunded", Always, ErrNoTicketSoldTwice, checkSoldTwice},
	{"TS2", "OneActiveOrderPerTicket", "at most one created, awaiting:payment or complete order per ticket at any time", Always, ErrOneActiveOrderPerTicket, checkOneActiveOrder},
	{"TS3", "OrdersTerminate", "every order is cancelled or complete by its expiresAt plus grace", Quiescence, ErrOrdersTerminate, checkOrdersTerminate},
	{"TS4", "TerminalStatesFinal", "a cancelled or complete order never changes status again", Always, ErrTerminalStatesFinal, checkTerminalFinal},
	{"TS5", "ReservationConsistency", "a ticket's orderId is its active order, or empty when it has none", Quiescence, ErrReservationConsistency, checkReservations},
	{"TS6", "ReservedNotEditable", "no price or title change is accepted while an order holds the ticket", Always, ErrReservedNotEditable, checkReservedNotEditable},
	{"TS7", "VersionSequence", "every store applies each record's versions one by one: never backwards, never skipping", Always, ErrVersionSequence, checkVersionSequence},
	{"TS8", "ReplicaConvergence", "at quiescence every replica equals its master", Quiescence, ErrReplicaConvergence, checkConvergence},
	{"TS9", "NoLostEvent", "every committed change is published and handled by every subscribing service", Quiescence, ErrNoLostEvent, checkNoLostEvent},
	{"TS10", "BoundedHandling", "no service handles one message more than a bounded number of times", Always, ErrBoundedHandling, checkBoundedHandling},
	{"TS11", "ChargesMatchOrders", "every charge not refunded belongs to a complete order, at most one per order", Quiescence, ErrChargesMatchOrders, checkCharges},
	{"TS12", "ExpirationAtMostOnce", "each order expires at most once, and not before its expiresAt", Always, ErrExpirationAtMostOnce, checkExpiration},
	{"TS13", "ReplicasFollowLastUpdate", "after the price script every orders replica holds each ticket's last price", Quiescence, ErrReplicasFollowLastUpdate, checkLastUpdate},
}

// Lookup finds an invariant by id ("TS2") or name.
func Lookup(idOrName string) (Invariant, bool) {
	i := slices.IndexFunc(All, func(inv Invariant) bool { return inv.ID == idOrName || inv.Name == idOrName })
	if i < 0 {
		return Invariant{}, false
	}
	return All[i], true
}

// Evaluate judges every invariant over in, in id order.
func Evaluate(in Input) []check.Result {
	out := make([]check.Result, len(All))
	for i, inv := range All {
		out[i] = inv.Check(in)
	}
	return out
}
