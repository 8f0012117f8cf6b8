package tickets

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Error kinds; match with errors.Is.
var (
	ErrNotFound          = errors.New("not found")
	ErrInvalidInput      = errors.New("invalid input")
	ErrInvalidTransition = errors.New("invalid transition")
	ErrAlreadyAssigned   = errors.New("ticket already has an agent")
	ErrAlreadyResolved   = errors.New("ticket already resolved")
)

// DomainError is a rule violation of the ticket domain. The HTTP API answers
// 400 {message} (404 for ErrNotFound), like the original ExceptionMiddleware.
type DomainError struct {
	Kind error // one of the Err* kinds
	Msg  string
}

func (e *DomainError) Error() string { return e.Msg }

// Unwrap returns the kind, so errors.Is(err, ErrInvalidTransition) works.
func (e *DomainError) Unwrap() error { return e.Kind }

// StatusCode maps the kind to an HTTP status.
func (e *DomainError) StatusCode() int {
	if e.Kind == ErrNotFound {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func invalid(format string, args ...any) error {
	return &DomainError{Kind: ErrInvalidInput, Msg: fmt.Sprintf(format, args...)}
}

func transition(op string, from contracts.TicketStatus, allowed ...contracts.TicketStatus) error {
	return &DomainError{Kind: ErrInvalidTransition, Msg: fmt.Sprintf("cannot %s a ticket in status %s (allowed from: %v)", op, from, allowed)}
}

// NotFound builds the error a store returns for a missing ticket or agent.
func NotFound(what, id string) error {
	return &DomainError{Kind: ErrNotFound, Msg: fmt.Sprintf("%s %s not found", what, id)}
}
