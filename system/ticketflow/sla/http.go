package sla

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// Reader reads records for the HTTP API.
type Reader interface {
	Record(ctx context.Context, ticketID string) (*Record, error)
}

// View is GET /sla/{serviceType}/{serviceSourceId}/deadline-reminders: the
// original DeadlineReminders fields plus extensions.
type View struct {
	ID                      string                `json:"id"`
	ServiceType             contracts.ServiceType `json:"serviceType"`
	ServiceSourceID         string                `json:"serviceSourceId"`
	ServiceLastKnownVersion int                   `json:"serviceLastKnownVersion"`
	UserIDToRemind          *string               `json:"userIdToRemind"`
	FirstReminderDateUTC    time.Time             `json:"firstReminderDateUtc"`
	FirstReminderSent       bool                  `json:"firstReminderSent"`
	SecondReminderDateUTC   time.Time             `json:"secondReminderDateUtc"`
	SecondReminderSent      bool                  `json:"secondReminderSent"`
	FinalReminderDateUTC    time.Time             `json:"finalReminderDateUtc"`
	FinalReminderSent       bool                  `json:"finalReminderSent"`
	DeadlineMet             *bool                 `json:"deadlineMet"`
	ServiceCompleted        bool                  `json:"serviceCompleted"`
	DeadlineDateUTC         *time.Time            `json:"deadlineDateUtc"`
	LastBreachAlertUTC      *time.Time            `json:"lastDeadlineBreachedAlertSentDateUtc"`
	// Extensions.
	Severity         contracts.Severity `json:"severity"`
	Tier             Tier               `json:"tier"`
	Blocked          bool               `json:"blocked"`
	PausedMs         int64              `json:"pausedMs"`
	Breaches         int                `json:"breaches"`
	Revision         int                `json:"revision"`
	RemindersSkipped [Reminders]bool    `json:"remindersSkipped"`
}

// NewView renders a record.
func NewView(cfg Config, r *Record) View {
	v := View{ID: r.TicketID, ServiceType: r.ServiceType, ServiceSourceID: r.TicketID, ServiceLastKnownVersion: r.LastKnownVersion,
		DeadlineMet: r.DeadlineMet, ServiceCompleted: r.Completed, Severity: r.Severity, Tier: r.Tier, Blocked: r.Blocked(),
		PausedMs: r.Paused.Milliseconds(), Breaches: r.Breaches, Revision: r.Revision, RemindersSkipped: r.ReminderSkipped}
	if r.AgentUserID != "" {
		u := r.AgentUserID
		v.UserIDToRemind = &u
	}
	if r.HasDeadline {
		d := r.Deadline()
		v.DeadlineDateUTC = &d
		v.FirstReminderDateUTC, v.SecondReminderDateUTC, v.FinalReminderDateUTC = r.ReminderAt(cfg, 0), r.ReminderAt(cfg, 1), r.ReminderAt(cfg, 2)
	}
	v.FirstReminderSent, v.SecondReminderSent, v.FinalReminderSent = !r.ReminderSent[0].IsZero(), !r.ReminderSent[1].IsZero(), !r.ReminderSent[2].IsZero()
	if r.Breaches > 0 {
		b := r.LastBreachActive.Add(r.Paused)
		v.LastBreachAlertUTC = &b
	}
	return v
}

// NewHandler serves GET /sla/{serviceType}/{serviceSourceId}/deadline-reminders:
// 400 on a bad service type, 404 when there is no record of that type.
func NewHandler(cfg Config, rd Reader, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	Register(mux, cfg, rd, log)
	return mux
}

// Register mounts the SLA routes on mux.
func Register(mux *http.ServeMux, cfg Config, rd Reader, log *slog.Logger) {
	mux.HandleFunc("GET /sla/{serviceType}/{serviceSourceId}/deadline-reminders", func(w http.ResponseWriter, r *http.Request) {
		st, err := contracts.ParseServiceType(r.PathValue("serviceType"))
		if err != nil || st == contracts.ServiceUnknown {
			httpjson.Error(w, log, httpjson.Badf("service type must be IncidentTicket or QuestionTicket, got %q", r.PathValue("serviceType")))
			return
		}
		id := r.PathValue("serviceSourceId")
		rec, err := rd.Record(r.Context(), id)
		if errors.Is(err, ErrNotFound) || err == nil && rec.ServiceType != st {
			httpjson.Error(w, log, httpjson.NotFound(errors.New("no deadline reminders for "+string(st)+" "+id)))
			return
		}
		if err != nil {
			httpjson.Error(w, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, NewView(cfg, rec))
	})
}
