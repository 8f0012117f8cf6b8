package tfhistory

import (
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Submission is one inquiry the workload submitted (POST /inquiries/submit).
type Submission struct {
	InquiryID string    `json:"inquiryId"`
	At        time.Time `json:"at"`
	Language  string    `json:"language"` // language of the generated text, e.g. "en", "pl"
	Email     string    `json:"email"`
	// Accepted is true when the service answered 2xx: the lab then holds it to
	// the inquiry. A failed or timed-out submission has an unknown outcome.
	Accepted bool            `json:"accepted"`
	Status   int             `json:"status,omitempty"` // HTTP status, 0 when none arrived
	TraceID  history.TraceID `json:"traceId,omitzero"`
}

// Command is one desk action the workload issued after a ticket existed.
type Command struct {
	Kind     string            `json:"kind"` // qualify | assign | block | unblock | resolve
	TicketID string            `json:"ticketId"`
	At       time.Time         `json:"at"`
	Accepted bool              `json:"accepted"`
	Status   int               `json:"status,omitempty"`
	Params   map[string]string `json:"params,omitempty"` // e.g. type, severity, agent, reason
	TraceID  history.TraceID   `json:"traceId,omitzero"`
}

// Snapshot is Ticketflow's snapshot of its services' databases at
// quiescence (history.Snapshot.System).
type Snapshot struct {
	Inquiries []Inquiry  `json:"inquiries"`
	Tickets   []Ticket   `json:"tickets"`
	Reminders []Reminder `json:"reminders"` // SLA DeadlineReminders
	Messages  []Message  `json:"messages"`  // Communication inbox
	Alerts    []Alert    `json:"alerts"`    // Communication alerts
}

// Of returns the history's Ticketflow snapshot (nil when none was taken).
func Of(h *history.History) (*Snapshot, error) {
	return history.SnapshotAs[Snapshot](&h.Snapshot.System)
}

// Inquiry is a row of the Inquiries service.
type Inquiry struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	TicketID  string    `json:"ticketId,omitempty"`
	Email     string    `json:"email"`
	Language  string    `json:"language,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Ticket is a row of the Tickets service.
type Ticket struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // WaitingForScheduledAction | BeforeQualification | Qualified | Blocked | Resolved
	Version     int64      `json:"version"`
	Type        string     `json:"type,omitempty"`     // Incident | Question
	Severity    string     `json:"severity,omitempty"` // Low | Medium | High | Critical
	Email       string     `json:"email"`
	Language    string     `json:"language,omitempty"` // detected language code
	Translation string     `json:"translation,omitempty"`
	AssignedTo  string     `json:"assignedTo,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	Deadline    *time.Time `json:"deadline,omitempty"`
	Resolution  string     `json:"resolution,omitempty"`
}

// Reminder is a row of the SLA service's DeadlineReminders.
type Reminder struct {
	TicketID         string     `json:"ticketId"`
	ServiceType      string     `json:"serviceType"` // IncidentTicket | QuestionTicket
	LastKnownVersion int64      `json:"lastKnownVersion"`
	UserToRemind     string     `json:"userToRemind,omitempty"`
	Deadline         *time.Time `json:"deadline,omitempty"`
	FirstAt          *time.Time `json:"firstAt,omitempty"`
	SecondAt         *time.Time `json:"secondAt,omitempty"`
	FinalAt          *time.Time `json:"finalAt,omitempty"`
	FirstSent        bool       `json:"firstSent,omitempty"`
	SecondSent       bool       `json:"secondSent,omitempty"`
	FinalSent        bool       `json:"finalSent,omitempty"`
	Completed        bool       `json:"completed,omitempty"`
	// AnchorAt is the instant the reminder schedule is measured from, when the
	// service stores it; zero means the ticket's CreatedAt.
	AnchorAt time.Time `json:"anchorAt,omitzero"`
	// Paused is the total time the ticket was blocked: a block pauses the SLA
	// clock, pushing the deadline and the reminders back.
	Paused history.Duration `json:"paused,omitempty"`
}

// Message kinds in the Communication inbox.
const (
	MessageClosure  = "closure"  // "inquiry closed" to the customer
	MessageReminder = "reminder" // reminder #1, #2, final to the agent
	MessageBreach   = "breach"   // "SLA not met" to the agent
	MessageOther    = "other"
)

// Message is a row of the Communication inbox.
type Message struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Reminder  int       `json:"reminder,omitempty"` // 1, 2 or 3 (final) for reminders
	TicketID  string    `json:"ticketId,omitempty"`
	Key       string    `json:"key,omitempty"` // idempotency key, when the service stores one
	Recipient string    `json:"recipient,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Alert types as the original stores them.
const (
	AlertIncident = "Incydent"
	AlertSLA      = "SLA"
)

// Alert is a row of the Communication alerts.
type Alert struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	TicketID  string    `json:"ticketId,omitempty"`
	Key       string    `json:"key,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}
