package common

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Toggle names one behaviour that switches between the course's (faithful)
// and the fixed implementation (spec C.3).
type Toggle string

// The toggles of spec C.3. Fixed is every toggle's default.
const (
	// VersionRule: how replicas apply versioned updates (see VersionMode).
	VersionRule Toggle = "versionRule"
	// CreateIdempotent: a duplicate create event is ignored (fixed) or fails
	// its insert and is redelivered forever (faithful).
	CreateIdempotent Toggle = "createIdempotent"
	// CancelChecksOrderID: tickets clears a reservation only for the order
	// that holds it, and ignores order:created of an order it already saw
	// cancelled (fixed); faithful clears it unconditionally.
	CancelChecksOrderID Toggle = "cancelChecksOrderId"
	// ExpirationChecksStatus: expiration:complete skips complete and
	// cancelled orders (fixed) or only complete ones (faithful).
	ExpirationChecksStatus Toggle = "expirationChecksStatus"
	// PaymentGuards: payments also rejects paid and expired orders, sends
	// the order id as idempotency key, refunds a charge of an order it
	// learns was cancelled; orders ignores a payment of a cancelled order
	// and publishes order:updated on complete (fixed). Faithful checks only
	// the replica's cancelled status.
	PaymentGuards Toggle = "paymentGuards"
	// DeleteGuards: DELETE /api/orders/:id refuses a complete order (fixed)
	// or cancels in any status (faithful).
	DeleteGuards Toggle = "deleteGuards"
	// ReserveAtomic: POST /api/orders checks and inserts in one statement
	// (fixed) or checks, then inserts (faithful, a TOCTOU window).
	ReserveAtomic Toggle = "reserveAtomic"
	// Outbox: events go through the transactional outbox (fixed) or are
	// published after the commit, fire and forget (faithful); expiration
	// marks a job done and publishes in one transaction (fixed) or marks it
	// done regardless of the publish (faithful).
	Outbox Toggle = "outbox"
	// ExpirationJobID: the delayed job's id is the order id, so a duplicate
	// order:created schedules nothing new (fixed), or random (faithful).
	ExpirationJobID Toggle = "expirationJobId"
)

// AllToggles lists the toggles in the order of spec C.3.
var AllToggles = []Toggle{VersionRule, CreateIdempotent, CancelChecksOrderID, ExpirationChecksStatus,
	PaymentGuards, DeleteGuards, ReserveAtomic, Outbox, ExpirationJobID}

// VersionMode is how a replica applies a versioned update event.
type VersionMode string

// Version modes (spec A.5, C.3).
const (
	// VersionOff applies every update as it arrives (naive last writer).
	VersionOff VersionMode = "off"
	// VersionStrict is the course: apply only stored+1; anything else fails
	// and is redelivered (a duplicate of an applied update loops forever).
	VersionStrict VersionMode = "strict"
	// VersionSkipApplied is the fix: stored ≥ event → ack and drop; stored =
	// event−1 → apply; otherwise fail and retry.
	VersionSkipApplied VersionMode = "strict+skipApplied"
)

// Values of a toggle's setting (the settings key is the toggle's name,
// e.g. "deleteGuards=faithful"). VersionRule also takes a VersionMode.
const (
	ValueFaithful = "faithful"
	ValueFixed    = "fixed"
)

// Toggles is the set of behaviours a ticketsale service runs with. The zero
// value is not the default: use Fixed.
type Toggles struct {
	Version  VersionMode
	faithful map[Toggle]bool
}

// Fixed returns every toggle in fixed mode.
func Fixed() Toggles { return Toggles{Version: VersionSkipApplied, faithful: map[Toggle]bool{}} }

// Faithful returns every toggle in the course's mode (version rule strict).
func Faithful() Toggles {
	t := Fixed()
	for _, g := range AllToggles {
		t = t.With(g, true)
	}
	return t
}

// With returns t with toggle g switched to faithful (true) or fixed (false).
// For VersionRule, faithful means VersionStrict.
func (t Toggles) With(g Toggle, faithful bool) Toggles {
	m := make(map[Toggle]bool, len(t.faithful)+1)
	for k, v := range t.faithful {
		m[k] = v
	}
	m[g] = faithful
	t.faithful = m
	if g == VersionRule {
		t.Version = VersionSkipApplied
		if faithful {
			t.Version = VersionStrict
		}
	}
	return t
}

// IsFaithful reports whether g runs the course's behaviour.
func (t Toggles) IsFaithful(g Toggle) bool {
	if g == VersionRule {
		return t.Version != VersionSkipApplied
	}
	return t.faithful[g]
}

// Fixed reports whether g runs the fixed behaviour.
func (t Toggles) Fixed(g Toggle) bool { return !t.IsFaithful(g) }

// FaithfulList names the faithful toggles in AllToggles order.
func (t Toggles) FaithfulList() []Toggle {
	var out []Toggle
	for _, g := range AllToggles {
		if t.IsFaithful(g) {
			out = append(out, g)
		}
	}
	return out
}

// String is "fixed", or the faithful toggles (versionRule with its mode).
func (t Toggles) String() string {
	var parts []string
	for _, g := range t.FaithfulList() {
		if g == VersionRule {
			parts = append(parts, string(g)+"="+string(t.Version))
			continue
		}
		parts = append(parts, string(g))
	}
	if len(parts) == 0 {
		return "fixed"
	}
	return "faithful:" + strings.Join(parts, ",")
}

// ParseToggle returns the toggle named s.
func ParseToggle(s string) (Toggle, error) {
	if slices.Contains(AllToggles, Toggle(s)) {
		return Toggle(s), nil
	}
	names := make([]string, len(AllToggles))
	for i, g := range AllToggles {
		names[i] = string(g)
	}
	return "", fmt.Errorf("unknown ticketsale toggle %q (known: %s)", s, strings.Join(names, ", "))
}

// ParseToggles reads the toggles from a service's settings: each toggle's
// name is a key with the value faithful or fixed (VersionRule: also off,
// strict or strict+skipApplied; faithful means strict). The protection
// "outbox" in unprotect switches Outbox to faithful too. Unset means fixed.
func ParseToggles(settings map[string]string, unprotect []string) (Toggles, error) {
	t := Fixed()
	var errs []error
	for _, g := range AllToggles {
		v, ok := settings[string(g)]
		if !ok {
			continue
		}
		switch {
		case v == ValueFaithful:
			t = t.With(g, true)
		case v == ValueFixed:
			t = t.With(g, false)
		case g == VersionRule && (v == string(VersionOff) || v == string(VersionStrict) || v == string(VersionSkipApplied)):
			t.Version = VersionMode(v)
		case g == VersionRule:
			errs = append(errs, fmt.Errorf("setting %s=%q: want %s, %s, %s, %s or %s", g, v, ValueFaithful, ValueFixed, VersionOff, VersionStrict, VersionSkipApplied))
		default:
			errs = append(errs, fmt.Errorf("setting %s=%q: want %s or %s", g, v, ValueFaithful, ValueFixed))
		}
	}
	if slices.Contains(unprotect, string(Outbox)) {
		t = t.With(Outbox, true)
	}
	if err := errors.Join(errs...); err != nil {
		return Toggles{}, err
	}
	return t, nil
}

// Settings returns the settings that make ParseToggles return t.
func (t Toggles) Settings() map[string]string {
	out := map[string]string{}
	for _, g := range t.FaithfulList() {
		out[string(g)] = ValueFaithful
	}
	if t.Version != VersionSkipApplied {
		out[string(VersionRule)] = string(t.Version)
	}
	return out
}
