package communication

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Message is an inbox message (table Messages). Recipent* keep the
// original's misspelling: it is the wire name.
type Message struct {
	ID             string    `json:"id"`
	RecipentEmail  string    `json:"recipentEmail,omitempty"`
	RecipentUserID string    `json:"recipentUserId,omitempty"`
	SenderUserID   string    `json:"senderUserId,omitempty"` // "" = SYSTEM
	Title          string    `json:"title"`
	Content        string    `json:"content"`
	Timestamp      time.Time `json:"timestamp"`
	IsRead         bool      `json:"isRead"`
	// IdempotencyKey (extension) is unique per stored message: storing a
	// message with a key already present is a no-op. "" = no key.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// Alert is a stored alert (table Alerts).
type Alert struct {
	ID             string              `json:"id"`
	Message        string              `json:"message"`
	CreatedAt      time.Time           `json:"createdAt"`
	IsRead         bool                `json:"isRead"`
	Type           contracts.AlertType `json:"type"`
	IdempotencyKey string              `json:"idempotencyKey,omitempty"` // extension, unique
}

// Errors; match with errors.Is.
var (
	ErrNotFound          = errors.New("not found")
	ErrMissingTicketData = errors.New("TicketResolved lacks the customer e-mail (the original fetched it with GET /tickets/{id})")
)

// Store keeps messages and alerts. Add* insert unless a row with the same
// non-empty IdempotencyKey exists; they return the id of the stored row and
// whether this call inserted it. Bound to the handling's transaction by the
// wiring.
type Store interface {
	AddMessage(ctx context.Context, m Message) (id string, inserted bool, err error)
	AddAlert(ctx context.Context, a Alert) (id string, inserted bool, err error)
}

// Limits of POST /messages.
const (
	MaxTitleLen   = 300
	MaxContentLen = 10000
	MaxKeyLen     = 300
)

// ValidationError is a bad field of POST /messages; the API answers 400 (the
// original threw a domain error that surfaced as 500, §12.6 #15).
type ValidationError struct {
	Field, Msg string
}

func (e *ValidationError) Error() string   { return e.Field + " " + e.Msg }
func (e *ValidationError) StatusCode() int { return http.StatusBadRequest }

// PostMessageRequest is the body of POST /messages.
type PostMessageRequest struct {
	RecipentEmail  string `json:"recipentEmail"`
	RecipentUserID string `json:"recipentUserId"`
	SenderUserID   string `json:"senderUserId"`
	Title          string `json:"title"`
	Content        string `json:"content"`
	IdempotencyKey string `json:"idempotencyKey"`
}

// Validate: a recipient e-mail or user id, a title and a content are
// required (the original's rules), the e-mail must be an address, and fields
// have length limits.
func (r PostMessageRequest) Validate() error {
	var errs []error
	email, user := strings.TrimSpace(r.RecipentEmail), strings.TrimSpace(r.RecipentUserID)
	if email == "" && user == "" {
		errs = append(errs, &ValidationError{"recipient", "needs recipentEmail or recipentUserId"})
	}
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			errs = append(errs, &ValidationError{"recipentEmail", fmt.Sprintf("%q is not a valid e-mail address", email)})
		}
	}
	for _, f := range []struct {
		name, v  string
		required bool
		max      int
	}{{"title", r.Title, true, MaxTitleLen}, {"content", r.Content, true, MaxContentLen}, {"idempotencyKey", r.IdempotencyKey, false, MaxKeyLen}} {
		v := strings.TrimSpace(f.v)
		switch {
		case f.required && v == "":
			errs = append(errs, &ValidationError{f.name, "is required"})
		case utf8.RuneCountInString(v) > f.max:
			errs = append(errs, &ValidationError{f.name, fmt.Sprintf("is longer than %d characters", f.max)})
		}
	}
	return errors.Join(errs...)
}

// Message builds the message to store.
func (r PostMessageRequest) Message(id string, now time.Time) Message {
	return Message{ID: id, RecipentEmail: strings.TrimSpace(r.RecipentEmail), RecipentUserID: strings.TrimSpace(r.RecipentUserID),
		SenderUserID: strings.TrimSpace(r.SenderUserID), Title: strings.TrimSpace(r.Title), Content: strings.TrimSpace(r.Content),
		Timestamp: now.UTC(), IdempotencyKey: strings.TrimSpace(r.IdempotencyKey)}
}

// ClosureTitle is the original's "Inquiry closed!" title.
const ClosureTitle = "Zgłoszenie zamknięte!"

// ClosureKey is the idempotency key of the customer closure message: one per
// ticket, however often TicketResolved is delivered.
func ClosureKey(ticketID string) string { return "closure:" + ticketID }

// ClosureMessage builds the customer's closure message from TicketResolved:
// to the customer's e-mail, from the assigned agent, naming the final status
// and the resolution.
func ClosureMessage(m contracts.TicketResolved, id string, now time.Time) (Message, error) {
	if strings.TrimSpace(m.Email) == "" {
		return Message{}, fmt.Errorf("ticket %s: %w", m.TicketID, ErrMissingTicketData)
	}
	status := m.Status
	if status == "" {
		status = contracts.StatusResolved
	}
	content := fmt.Sprintf("Twoje zgłoszenie %s zostało zamknięte. Status: %s. Rozwiązanie: %s", m.TicketID, status, m.Resolution)
	return Message{ID: id, RecipentEmail: m.Email, SenderUserID: m.AssignedAgentUserID, Title: ClosureTitle,
		Content: content, Timestamp: now.UTC(), IdempotencyKey: ClosureKey(m.TicketID)}, nil
}

// AlertKey is the idempotency key of a stored alert: the producer's alertKey
// when present (incident:<ticket>, breach:<ticket>:<n>), else the AMQP
// message id, which is stable across redeliveries.
func AlertKey(a contracts.ProducerAgnosticAlertMessage, messageID string) string {
	if a.AlertKey != "" {
		return a.AlertKey
	}
	return "alert:" + messageID
}

// NewAlert builds the alert to store from any producer's alert.
func NewAlert(a contracts.ProducerAgnosticAlertMessage, messageID, id string, now time.Time) Alert {
	return Alert{ID: id, Message: a.AlertMessageContent, CreatedAt: now.UTC(), Type: a.AlertType, IdempotencyKey: AlertKey(a, messageID)}
}

// HandleTicketResolved stores the closure message once per ticket.
func HandleTicketResolved(ctx context.Context, st Store, m contracts.TicketResolved, id string, now time.Time) (inserted bool, err error) {
	msg, err := ClosureMessage(m, id, now)
	if err != nil {
		return false, err
	}
	_, inserted, err = st.AddMessage(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("store closure message of %s: %w", m.TicketID, err)
	}
	return inserted, nil
}

// HandleAlert stores an alert (any message on communication-alerts) once per key.
func HandleAlert(ctx context.Context, st Store, body []byte, messageID, id string, now time.Time) (inserted bool, err error) {
	a, err := contracts.DecodeAlert(body)
	if err != nil {
		return false, err
	}
	_, inserted, err = st.AddAlert(ctx, NewAlert(a, messageID, id, now))
	if err != nil {
		return false, fmt.Errorf("store alert: %w", err)
	}
	return inserted, nil
}

func errorsIsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
