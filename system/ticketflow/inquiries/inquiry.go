package inquiries

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

// Field limits of POST /inquiries/submit.
const (
	MaxNameLen        = 200
	MaxEmailLen       = 320
	MaxTitleLen       = 200
	MaxDescriptionLen = 10000
)

// Inquiry is a customer's request (table Inquiries).
type Inquiry struct {
	ID           string
	Name         string
	Email        string
	Title        string
	Description  string
	CreatedAt    time.Time
	Status       contracts.InquiryStatus
	Category     contracts.Category
	TicketID     string // "" until the ticket is created
	LanguageCode string // detected at submission (not stored by the original)
}

// ErrNotFound marks a missing inquiry; match with errors.Is.
var ErrNotFound = errors.New("inquiry not found")

// ValidationError is a bad field of a submission; the API answers 400.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string   { return e.Field + " " + e.Msg }
func (e *ValidationError) StatusCode() int { return http.StatusBadRequest }

// ConflictError is an inquiry already linked to another ticket (a domain
// error in the original).
type ConflictError struct {
	InquiryID, Linked, Offered string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("inquiry %s is already linked to ticket %s, not %s", e.InquiryID, e.Linked, e.Offered)
}

// StatusCode: a conflict is a client-visible domain error.
func (e *ConflictError) StatusCode() int { return http.StatusConflict }

// SubmitRequest is the body of POST /inquiries/submit (the portal sends the
// category in lowercase).
type SubmitRequest struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Category    string `json:"category"`
}

// ValidationErrors lists every bad field of one request.
type ValidationErrors []*ValidationError

func (e ValidationErrors) Error() string {
	parts := make([]string, len(e))
	for i, v := range e {
		parts[i] = v.Error()
	}
	return strings.Join(parts, "; ")
}

// StatusCode makes the API answer 400.
func (e ValidationErrors) StatusCode() int { return http.StatusBadRequest }

// Unwrap exposes the single errors to errors.Is/As.
func (e ValidationErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, v := range e {
		out[i] = v
	}
	return out
}

// Validate reports every bad field as ValidationErrors (nil when valid).
func (r SubmitRequest) Validate() error {
	var errs ValidationErrors
	field := func(name, v string, required bool, max int) {
		v = strings.TrimSpace(v)
		switch {
		case required && v == "":
			errs = append(errs, &ValidationError{name, "is required"})
		case utf8.RuneCountInString(v) > max:
			errs = append(errs, &ValidationError{name, fmt.Sprintf("is longer than %d characters", max)})
		}
	}
	field("name", r.Name, true, MaxNameLen)
	field("email", r.Email, true, MaxEmailLen)
	field("title", r.Title, false, MaxTitleLen)
	field("description", r.Description, true, MaxDescriptionLen)
	if e := strings.TrimSpace(r.Email); e != "" && utf8.RuneCountInString(e) <= MaxEmailLen {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			errs = append(errs, &ValidationError{"email", fmt.Sprintf("%q is not a valid e-mail address", e)})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Store persists inquiries; bound to the handling's transaction by the wiring.
type Store interface {
	// Inquiry loads an inquiry; missing wraps ErrNotFound.
	Inquiry(ctx context.Context, id string) (*Inquiry, error)
	// SaveInquiry inserts or updates an inquiry.
	SaveInquiry(ctx context.Context, in *Inquiry) error
}

// Intake turns submissions into inquiries and the messages they cause.
type Intake struct {
	Detector *language.Detector
	// NewID returns inquiry ids (default: random UUIDv4). Pass a generator
	// fed by the run's seeded source for reproducible ids.
	NewID func() string
	// PublishV1 also sends the original RequestTranslationV1, which nothing
	// consumes (off by default).
	PublishV1 bool
}

// NewIntake returns an intake with the default language detector.
func NewIntake() (*Intake, error) {
	d, err := language.New(language.Config{})
	if err != nil {
		return nil, err
	}
	return &Intake{Detector: d}, nil
}

// Submit validates req, detects the language of title and description,
// saves the inquiry (status New) and returns the messages to publish in the
// same transaction: InquirySubmitted, and RequestTranslationV2 (plus V1 when
// PublishV1) when the text is not English.
func (in *Intake) Submit(ctx context.Context, st Store, req SubmitRequest, now time.Time) (*Inquiry, []contracts.Message, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	if in.Detector == nil {
		return nil, nil, errors.New("intake: no language detector")
	}
	newID := in.NewID
	if newID == nil {
		newID = uuid.NewString
	}
	cat, _ := contracts.ParseCategory(req.Category)
	q := &Inquiry{
		ID: newID(), Name: strings.TrimSpace(req.Name), Email: strings.TrimSpace(req.Email), Title: strings.TrimSpace(req.Title),
		Description: strings.TrimSpace(req.Description), CreatedAt: now.UTC(), Status: contracts.InquiryNew, Category: cat,
	}
	q.LanguageCode = in.Detector.Detect(q.Title + "\n" + q.Description).Code
	if err := st.SaveInquiry(ctx, q); err != nil {
		return nil, nil, fmt.Errorf("save inquiry: %w", err)
	}
	msgs := []contracts.Message{contracts.InquirySubmitted{
		ID: q.ID, Name: q.Name, Email: q.Email, Title: q.Title, Description: q.Description,
		Category: q.Category, LanguageCode: q.LanguageCode, CreatedAt: q.CreatedAt,
	}}
	if !language.IsEnglish(q.LanguageCode) {
		if in.PublishV1 {
			msgs = append(msgs, contracts.RequestTranslationV1{Text: q.Description, TicketID: q.ID})
		}
		msgs = append(msgs, contracts.RequestTranslationV2{Text: q.Description, LanguageCode: q.LanguageCode, ReferenceID: q.ID})
	}
	return q, msgs, nil
}

// LinkTicket stores the ticket id; linking the same id again is a no-op and
// another id is a *ConflictError. A New inquiry becomes InProgress.
func (q *Inquiry) LinkTicket(ticketID string) (changed bool, err error) {
	if ticketID == "" {
		return false, &ValidationError{"ticketId", "is required"}
	}
	if q.TicketID != "" && q.TicketID != ticketID {
		return false, &ConflictError{InquiryID: q.ID, Linked: q.TicketID, Offered: ticketID}
	}
	if q.TicketID == "" {
		q.TicketID, changed = ticketID, true
	}
	if q.Status == contracts.InquiryNew {
		q.Status, changed = contracts.InquiryInProgress, true
	}
	return changed, nil
}

// Resolve marks the inquiry Resolved when its ticket is resolved. Status
// only moves forward, so a redelivered or reordered TicketCreated cannot
// reopen it.
func (q *Inquiry) Resolve(ticketID string) (changed bool, err error) {
	if q.TicketID == "" {
		q.TicketID = ticketID
	} else if q.TicketID != ticketID {
		return false, &ConflictError{InquiryID: q.ID, Linked: q.TicketID, Offered: ticketID}
	}
	if q.Status == contracts.InquiryResolved {
		return false, nil
	}
	q.Status = contracts.InquiryResolved
	return true, nil
}

// HandleTicketCreated links the inquiry (TicketCreated.inquiryId) to its
// ticket. A missing inquiry wraps ErrNotFound so the message is retried (the
// inquiry's commit may not be visible yet), as in the original.
func HandleTicketCreated(ctx context.Context, st Store, m contracts.TicketCreated) (bool, error) {
	id := m.InquiryID
	if id == "" {
		id = m.ID
	}
	return update(ctx, st, id, func(q *Inquiry) (bool, error) { return q.LinkTicket(m.ID) })
}

// HandleTicketResolved moves the inquiry to Resolved (the ticket id is the
// inquiry id). The original never changed the inquiry status (§12.6 #5).
func HandleTicketResolved(ctx context.Context, st Store, m contracts.TicketResolved) (bool, error) {
	return update(ctx, st, m.TicketID, func(q *Inquiry) (bool, error) { return q.Resolve(m.TicketID) })
}

func update(ctx context.Context, st Store, id string, f func(*Inquiry) (bool, error)) (bool, error) {
	q, err := st.Inquiry(ctx, id)
	if err != nil {
		return false, fmt.Errorf("load inquiry %s: %w", id, err)
	}
	changed, err := f(q)
	if err != nil || !changed {
		return false, err
	}
	if err := st.SaveInquiry(ctx, q); err != nil {
		return false, fmt.Errorf("save inquiry %s: %w", id, err)
	}
	return true, nil
}
