package tickets

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

// Limits on free text, so a request cannot grow a row without bound.
const (
	MaxReasonLen = 1000
	MaxNoteLen   = 4000
)

// Ticket is the ticket aggregate. Its id equals the inquiry id. Fields are
// exported for the store; change them only through the methods, which keep
// the state machine and the version.
type Ticket struct {
	ID                    string
	InquiryID             string
	Name                  string
	Email                 string
	Title                 string
	Description           string
	LanguageCode          string
	CreatedAt             time.Time
	Type                  contracts.TicketType // "" until qualified
	Status                contracts.TicketStatus
	Severity              contracts.Severity // "" until qualified
	Category              contracts.Category
	TranslatedDescription string
	Notes                 string // client-visible notes
	InternalNotes         string
	AssignedTo            string // agent id, "" = unassigned
	// Version is the version of the last event: 1 after TicketCreated, +1 for
	// every event. Changes without an event (translation, deadline, notes)
	// do not bump it.
	Version          int
	DeadlineUTC      time.Time // zero = unknown
	DeadlineRevision int       // DeadlinesCalculated.revision last applied
	Resolution       string

	pending []contracts.Message
}

// NewTicketData is what a ticket is created from: an InquirySubmitted, or
// the body of POST /tickets/ (sync flow).
type NewTicketData struct {
	ID                    string
	Name                  string
	Email                 string
	Title                 string
	Description           string
	TranslatedDescription string // sync flow only
	Category              contracts.Category
	LanguageCode          string
	// CreatedAt is when the customer filed the inquiry; zero means "now".
	// The SLA deadline is anchored on it.
	CreatedAt time.Time
}

// FromInquiry converts an InquirySubmitted.
func FromInquiry(m contracts.InquirySubmitted) NewTicketData {
	return NewTicketData{ID: m.ID, Name: m.Name, Email: m.Email, Title: m.Title, Description: m.Description,
		Category: m.Category, LanguageCode: m.LanguageCode, CreatedAt: m.CreatedAt}
}

// Validate reports missing or malformed fields.
func (d NewTicketData) Validate() error {
	var missing []string
	for name, v := range map[string]string{"id": d.ID, "name": d.Name, "email": d.Email, "description": d.Description, "languageCode": d.LanguageCode} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return invalid("ticket: %s required", strings.Join(missing, ", "))
	}
	if _, err := mail.ParseAddress(d.Email); err != nil {
		return invalid("ticket: email %q is not a valid address", d.Email)
	}
	return nil
}

// Parked is a translation result that arrived before its ticket existed
// (TicketScheduledActions in the original). Skipped records a
// TranslationSkipped, so the ticket does not wait for a translation that will
// never come.
type Parked struct {
	ReferenceID    string
	TranslatedText string
	Skipped        bool
	ParkedAt       time.Time
}

// Create builds a new ticket and records TicketCreated (version 1).
//
//   - parked != nil: the translation that overtook the inquiry is attached and
//     the ticket starts BeforeQualification;
//   - a non-English language without a parked translation starts
//     WaitingForScheduledAction;
//   - otherwise BeforeQualification.
func Create(d NewTicketData, parked *Parked, now time.Time) (*Ticket, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	created := d.CreatedAt
	if created.IsZero() {
		created = now
	}
	t := &Ticket{
		ID: d.ID, InquiryID: d.ID, Name: d.Name, Email: d.Email, Title: d.Title,
		Description: d.Description, LanguageCode: d.LanguageCode, CreatedAt: created.UTC(),
		Status: contracts.StatusBeforeQualification, Category: d.Category,
		TranslatedDescription: d.TranslatedDescription,
	}
	if t.Category == "" {
		t.Category = contracts.CategoryOther
	}
	switch {
	case parked != nil:
		if !parked.Skipped {
			t.TranslatedDescription = parked.TranslatedText
		}
	case d.TranslatedDescription == "" && !language.IsEnglish(d.LanguageCode):
		t.Status = contracts.StatusWaitingForScheduledAction
	}
	t.emit(func(v int) contracts.Message {
		return contracts.TicketCreated{
			ID: t.ID, InquiryID: t.InquiryID, Name: t.Name, Email: t.Email, Title: t.Title,
			Description: t.Description, Category: t.Category, LanguageCode: t.LanguageCode,
			Version: v, PartitionKey: t.ID, Status: t.Status, CreatedAt: t.CreatedAt,
		}
	})
	return t, nil
}

// emit bumps the version and records the event built for it.
func (t *Ticket) emit(build func(version int) contracts.Message) {
	t.Version++
	t.pending = append(t.pending, build(t.Version))
}

// TakeEvents returns the events recorded since the last call and forgets them.
func (t *Ticket) TakeEvents() []contracts.Message {
	ev := t.pending
	t.pending = nil
	return ev
}

// AttachTranslation sets the English description. A ticket waiting for its
// translation moves to BeforeQualification; in any other status only the
// text changes (the original reset every status to BeforeQualification, so a
// duplicate translation un-qualified a ticket). skipped means no text will
// come: the ticket just stops waiting. It reports whether anything changed.
func (t *Ticket) AttachTranslation(text string, skipped bool) (bool, error) {
	if t.Status == contracts.StatusResolved {
		return false, transition("attach a translation to", t.Status)
	}
	changed := false
	if !skipped && text != "" && text != t.TranslatedDescription {
		t.TranslatedDescription = text
		changed = true
	}
	if t.Status == contracts.StatusWaitingForScheduledAction {
		t.Status = contracts.StatusBeforeQualification
		changed = true
	}
	return changed, nil
}

// Qualify sets type and severity; only from BeforeQualification. It records
// TicketQualified and, for an incident, IncidentCreated (an alert).
func (t *Ticket) Qualify(typ contracts.TicketType, sev contracts.Severity) error {
	if t.Status != contracts.StatusBeforeQualification {
		return transition("qualify", t.Status, contracts.StatusBeforeQualification)
	}
	if _, ok := contracts.ServiceTypeOf(typ); !ok {
		return invalid("ticket type must be Incident or Question, got %q", typ)
	}
	if !slices.Contains(contracts.Severities(), sev) {
		return invalid("severity must be one of %v, got %q", contracts.Severities(), sev)
	}
	t.Type, t.Severity, t.Status = typ, sev, contracts.StatusQualified
	t.emit(func(v int) contracts.Message {
		return contracts.TicketQualified{TicketID: t.ID, Version: v, PartitionKey: t.ID, Status: t.Status,
			Type: t.Type, SeverityLevel: t.Severity, Email: t.Email, CreatedAt: t.CreatedAt}
	})
	if typ == contracts.TypeIncident {
		t.emit(func(v int) contracts.Message {
			return contracts.IncidentCreated{TicketID: t.ID, Version: v, PartitionKey: t.ID, Status: t.Status,
				AlertMessageContent: IncidentAlertText(t.ID), AlertType: contracts.AlertIncident, AlertKey: IncidentAlertKey(t.ID)}
		})
	}
	return nil
}

// IncidentAlertText is the Polish alert content ("incident created – ticket id …").
func IncidentAlertText(ticketID string) string {
	return "Utworzono incydent – ticket o id: " + ticketID
}

// IncidentAlertKey is the idempotency key of the incident alert effect.
func IncidentAlertKey(ticketID string) string { return "incident:" + ticketID }

// Assign gives the ticket to an agent; only from Qualified or Blocked, and
// only once (re-assignment is forbidden, as in the original). It records
// AgentAssignedToTicket.
func (t *Ticket) Assign(agent Agent) error {
	if t.Status != contracts.StatusQualified && t.Status != contracts.StatusBlocked {
		return transition("assign", t.Status, contracts.StatusQualified, contracts.StatusBlocked)
	}
	if t.AssignedTo != "" {
		return &DomainError{Kind: ErrAlreadyAssigned, Msg: fmt.Sprintf("ticket %s is already assigned to agent %s", t.ID, t.AssignedTo)}
	}
	if agent.ID == "" {
		return invalid("agent id is required")
	}
	t.AssignedTo = agent.ID
	t.emit(func(v int) contracts.Message {
		return contracts.AgentAssignedToTicket{TicketID: t.ID, Version: v, PartitionKey: t.ID, Status: t.Status, AssignedAgentUserID: agent.UserID}
	})
	return nil
}

// Block stops work on a qualified ticket and records TicketBlocked. The
// original allowed blocking from any unresolved status, after which unblock
// made an unqualified ticket "Qualified"; here only Qualified can be blocked.
func (t *Ticket) Block(reason string) error {
	if t.Status != contracts.StatusQualified {
		return transition("block", t.Status, contracts.StatusQualified)
	}
	reason, err := text("reason", reason, MaxReasonLen)
	if err != nil {
		return err
	}
	t.Status = contracts.StatusBlocked
	t.addInternalNote("BLOCKED: " + reason)
	t.emit(func(v int) contracts.Message {
		return contracts.TicketBlocked{TicketID: t.ID, Version: v, PartitionKey: t.ID, Status: t.Status, Reason: reason}
	})
	return nil
}

// Unblock resumes work (Blocked → Qualified) and records TicketUnblocked (the
// original re-emitted TicketQualified).
func (t *Ticket) Unblock(reason string) error {
	if t.Status != contracts.StatusBlocked {
		return transition("unblock", t.Status, contracts.StatusBlocked)
	}
	reason, err := text("reason", reason, MaxReasonLen)
	if err != nil {
		return err
	}
	t.Status = contracts.StatusQualified
	t.addInternalNote("UNBLOCKED: " + reason)
	t.emit(func(v int) contracts.Message {
		return contracts.TicketUnblocked{TicketID: t.ID, Version: v, PartitionKey: t.ID, Status: t.Status, Reason: reason}
	})
	return nil
}

// Resolve closes the ticket from any status but Resolved and records
// TicketResolved exactly once: resolving again is ErrAlreadyResolved, so the
// customer gets one closure message. assignee is the assigned agent (zero
// when none): its name goes into the internal note (the original's note had
// an empty name) and its user id into the event.
func (t *Ticket) Resolve(resolution string, assignee Agent) error {
	if t.Status == contracts.StatusResolved {
		return &DomainError{Kind: ErrAlreadyResolved, Msg: fmt.Sprintf("ticket %s is already resolved", t.ID)}
	}
	if t.Status == contracts.StatusUnknown || t.Status == "" {
		return transition("resolve", t.Status)
	}
	resolution, err := text("resolution", resolution, MaxReasonLen)
	if err != nil {
		return err
	}
	t.Status, t.Resolution = contracts.StatusResolved, resolution
	t.addInternalNote("RESOLVED BY: " + assignee.FullName)
	t.emit(func(v int) contracts.Message {
		return contracts.TicketResolved{TicketID: t.ID, Version: v, PartitionKey: t.ID, Status: t.Status,
			Resolution: t.Resolution, Email: t.Email, AssignedAgentUserID: assignee.UserID}
	})
	return nil
}

// SetDeadline applies DeadlinesCalculated. Revisions (extension) make it
// idempotent and order-safe: a revision not newer than the applied one is
// ignored. A message without a revision (0) always applies. No event, no
// version bump (the original bumped). It reports whether it applied.
func (t *Ticket) SetDeadline(deadline time.Time, revision int) bool {
	if revision > 0 && revision <= t.DeadlineRevision {
		return false
	}
	t.DeadlineUTC, t.DeadlineRevision = deadline.UTC(), revision
	return true
}

// AddClientNote appends a customer-visible note "[<time>] note" on a new
// line. The time is RFC 3339 UTC for every note (the original used the ISO
// round-trip format for the first note and the "s" format after).
func (t *Ticket) AddClientNote(note string, now time.Time) error {
	note, err := text("note", note, MaxNoteLen)
	if err != nil {
		return err
	}
	line := "[" + now.UTC().Format(time.RFC3339) + "] " + note
	if t.Notes == "" {
		t.Notes = line
	} else {
		t.Notes += "\n" + line
	}
	return nil
}

func (t *Ticket) addInternalNote(s string) {
	if t.InternalNotes == "" {
		t.InternalNotes = s
		return
	}
	t.InternalNotes += "\n" + s
}

func text(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("%s is required", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", invalid("%s is longer than %d characters", field, max)
	}
	return s, nil
}
