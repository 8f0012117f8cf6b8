package anomaly

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Type is one of the nine anomaly types; the names are the original enum
// names and appear in URLs, JSON and the admin UI (spec §8.2, §8.7).
type Type string

// The nine anomaly types.
const (
	ConsumerErrorBeforeHandler     Type = "ConsumerErrorBeforeHandler"
	ConsumerErrorAfterHandler      Type = "ConsumerErrorAfterHandler"
	ConsumerDelayBeforeHandler     Type = "ConsumerDelayBeforeHandler"
	ConsumerDelayAfterHandler      Type = "ConsumerDelayAfterHandler"
	ProducerErrorBeforeTransaction Type = "ProducerErrorBeforeTransaction"
	ProducerErrorWithinTransaction Type = "ProducerErrorWithinTransaction"
	ProducerErrorAfterTransaction  Type = "ProducerErrorAfterTransaction"
	OutboxErrorOnSave              Type = "OutboxErrorOnSave"
	OutboxErrorOnPublish           Type = "OutboxErrorOnPublish"
)

// Types lists the nine types in the original enum order.
func Types() []Type {
	return []Type{
		ConsumerErrorBeforeHandler, ConsumerErrorAfterHandler, ConsumerDelayBeforeHandler,
		ConsumerDelayAfterHandler, ProducerErrorBeforeTransaction, ProducerErrorWithinTransaction,
		ProducerErrorAfterTransaction, OutboxErrorOnSave, OutboxErrorOnPublish,
	}
}

// Point is a named injection point, positioned relative to the handling's
// database transaction (spec §3.4, §8.2):
//
//	BeforeTransaction  executor step, before the transaction opens
//	  ┌─ transaction ───────────────────────────────────────────────┐
//	  │ BeforeHandler   consumer side, right before the business handler
//	  │ (handler runs; each outbox row insert → OutboxSave)
//	  │ AfterHandler    consumer side, right after the handler returned
//	  │ WithinTransaction executor step after handler and dedup insert
//	  └─ commit ────────────────────────────────────────────────────┘
//	AfterTransaction   executor step after commit, before the ack
//	Publish            after any publish call returned (direct, outbox writer, and the
//	                   relay before it marks the row sent: a failure there re-sends it)
type Point string

// Injection points.
const (
	BeforeTransaction Point = "BeforeTransaction"
	BeforeHandler     Point = "BeforeHandler"
	AfterHandler      Point = "AfterHandler"
	WithinTransaction Point = "WithinTransaction"
	AfterTransaction  Point = "AfterTransaction"
	OutboxSave        Point = "OutboxSave"
	Publish           Point = "Publish"
)

// Points lists the points in execution order.
func Points() []Point {
	return []Point{BeforeTransaction, BeforeHandler, OutboxSave, Publish, AfterHandler, WithinTransaction, AfterTransaction}
}

// Point returns where the type hooks in.
func (t Type) Point() Point {
	switch t {
	case ConsumerErrorBeforeHandler, ConsumerDelayBeforeHandler:
		return BeforeHandler
	case ConsumerErrorAfterHandler, ConsumerDelayAfterHandler:
		return AfterHandler
	case ProducerErrorBeforeTransaction:
		return BeforeTransaction
	case ProducerErrorWithinTransaction:
		return WithinTransaction
	case ProducerErrorAfterTransaction:
		return AfterTransaction
	case OutboxErrorOnSave:
		return OutboxSave
	case OutboxErrorOnPublish:
		return Publish
	}
	return ""
}

// IsDelay reports whether the type delays (and needs DelayInMs) instead of failing.
func (t Type) IsDelay() bool {
	return t == ConsumerDelayBeforeHandler || t == ConsumerDelayAfterHandler
}

// IsConsumer reports whether the type matches the consumed message type
// (the others match published message types).
func (t Type) IsConsumer() bool { return t.Point() == BeforeHandler || t.Point() == AfterHandler }

// Valid reports whether t is one of the nine types.
func (t Type) Valid() bool { return slices.Contains(Types(), t) }

// Parameter names, as in the original additionalParams.
const (
	ParamDelayInMs    = "DelayInMs"
	ParamStatusFilter = "StatusFilter"
)

// MaxDelay caps DelayInMs so a typo cannot park a consumer for days.
const MaxDelay = 10 * time.Minute

// Params are an anomaly's parameters.
type Params struct {
	Delay        time.Duration          // DelayInMs; delay types only
	StatusFilter contracts.TicketStatus // "" = any status
}

// Map renders the params as the original's string map.
func (p Params) Map() map[string]string {
	m := map[string]string{}
	if p.Delay > 0 {
		m[ParamDelayInMs] = strconv.FormatInt(p.Delay.Milliseconds(), 10)
	}
	if p.StatusFilter != "" {
		m[ParamStatusFilter] = string(p.StatusFilter)
	}
	return m
}

// Anomaly is one enabled anomaly.
type Anomaly struct {
	Type        Type
	MessageType string
	Params      Params
}

// Matches reports whether the anomaly fires for a message of msgType whose
// ticket status is status ("" when unknown). A status filter matches only a
// known, equal status (case-insensitive) — the original compared it with a
// Status property that no message had, so it never narrowed anything.
func (a Anomaly) Matches(msgType, status string) bool {
	if a.MessageType != msgType {
		return false
	}
	if a.Params.StatusFilter == "" {
		return true
	}
	return status != "" && strings.EqualFold(string(a.Params.StatusFilter), status)
}

// RequestError is a bad anomaly request; the HTTP API answers 400.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string   { return e.Field + ": " + e.Msg }
func (e *RequestError) StatusCode() int { return http.StatusBadRequest }

// UnknownTypeError names an anomaly type that is not one of the nine.
type UnknownTypeError struct {
	Value string
}

func (e *UnknownTypeError) Error() string {
	names := make([]string, 0, 9)
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return fmt.Sprintf("unknown anomaly type %q (known: %s)", e.Value, strings.Join(names, ", "))
}

// StatusCode makes the API answer 400.
func (e *UnknownTypeError) StatusCode() int { return http.StatusBadRequest }

// ParseType parses an anomaly type name, case-insensitively.
func ParseType(s string) (Type, error) {
	for _, t := range Types() {
		if strings.EqualFold(string(t), strings.TrimSpace(s)) {
			return t, nil
		}
	}
	return "", &UnknownTypeError{Value: s}
}

// Request is the body of POST /anomalies (and the sync "enabled" payload).
type Request struct {
	AnomalyType      string            `json:"anomalyType"`
	MessageType      string            `json:"messageType"`
	AdditionalParams map[string]string `json:"additionalParams"`
}

// Parse validates a request into an Anomaly. Parameter names are matched
// case-insensitively; unknown parameters are ignored like in the original.
func (r Request) Parse() (Anomaly, error) {
	typ, err := ParseType(r.AnomalyType)
	if err != nil {
		return Anomaly{}, err
	}
	a := Anomaly{Type: typ, MessageType: strings.TrimSpace(r.MessageType)}
	var errs []error
	if a.MessageType == "" {
		errs = append(errs, &RequestError{"messageType", "is required"})
	}
	for k, v := range r.AdditionalParams {
		switch {
		case strings.EqualFold(k, ParamDelayInMs):
			if !typ.IsDelay() {
				continue // ignored by the other types, as in the original
			}
			ms, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > MaxDelay {
				errs = append(errs, &RequestError{ParamDelayInMs, fmt.Sprintf("must be a whole number of milliseconds in 1..%d, got %q", MaxDelay.Milliseconds(), v)})
				continue
			}
			a.Params.Delay = time.Duration(ms) * time.Millisecond
		case strings.EqualFold(k, ParamStatusFilter):
			if strings.TrimSpace(v) == "" {
				continue
			}
			st, err := contracts.ParseTicketStatus(v)
			if err != nil {
				errs = append(errs, &RequestError{ParamStatusFilter, err.Error()})
				continue
			}
			a.Params.StatusFilter = st
		}
	}
	if typ.IsDelay() && a.Params.Delay == 0 && !hasKey(r.AdditionalParams, ParamDelayInMs) {
		errs = append(errs, &RequestError{ParamDelayInMs, "is required for " + string(typ)})
	}
	if err := errors.Join(errs...); err != nil {
		return Anomaly{}, err // every element is a *RequestError: 400
	}
	return a, nil
}

func hasKey(m map[string]string, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// View is one element of GET /anomalies.
type View struct {
	AnomalyType string            `json:"anomalyType"`
	MessageType string            `json:"messageType"`
	Params      map[string]string `json:"params"`
	// Fired counts how often the anomaly fired on this instance (extension:
	// evidence that an injected fault took effect).
	Fired int64 `json:"fired"`
}

// GeneratedMessage is the original AnomalyException message.
const GeneratedMessage = "Error anomaly has been generated!"

// ErrGenerated matches every error produced by an anomaly (errors.Is).
var ErrGenerated = errors.New(GeneratedMessage)

// Error is the failure an error anomaly produces.
type Error struct {
	Type        Type
	MessageType string
	Point       Point
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s on %s at %s)", GeneratedMessage, e.Type, e.MessageType, e.Point)
}

// Is makes errors.Is(err, ErrGenerated) true.
func (e *Error) Is(target error) bool { return target == ErrGenerated }
