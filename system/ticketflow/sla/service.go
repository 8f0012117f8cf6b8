package sla

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// ErrNotFound marks a missing record; match with errors.Is.
var ErrNotFound = errors.New("sla record not found")

// ErrEarly marks an event that needs an earlier one first (e.g. an agent
// assignment before the qualification that starts the SLA). It is
// retryable: the message should be redelivered later.
var ErrEarly = errors.New("event arrived before the qualification that starts the SLA")

// ErrMissingTicketData marks a TicketQualified without the extension fields
// (type, severityLevel, createdAt); the original fetched them with
// GET /tickets/{id}, this port expects them in the event.
var ErrMissingTicketData = errors.New("TicketQualified lacks type, severityLevel or createdAt")

// Store persists SLA records; bound to the handling's transaction by the wiring.
type Store interface {
	// Record loads the record of a ticket; missing wraps ErrNotFound.
	Record(ctx context.Context, ticketID string) (*Record, error)
	// SaveRecord inserts or updates a record.
	SaveRecord(ctx context.Context, r *Record) error
}

// Tracker applies ticket events to SLA records. It is stateless besides its
// configuration and safe for concurrent use.
type Tracker struct {
	Catalog Catalog
	Config  Config
}

// NewTracker validates and returns a tracker.
func NewTracker(cat Catalog, cfg Config) (*Tracker, error) {
	if err := errors.Join(cat.Validate(), cfg.Validate()); err != nil {
		return nil, fmt.Errorf("sla tracker: %w", err)
	}
	return &Tracker{Catalog: cat, Config: cfg}, nil
}

// Outcome says what an event did to the record.
type Outcome string

// Outcomes of Handle.
const (
	Applied Outcome = "applied" // the record changed (or was created)
	Stale   Outcome = "stale"   // version already applied: nothing done
	Ignored Outcome = "ignored" // the event does not concern SLA (TicketCreated, IncidentCreated, ...)
)

// Handle applies one ticket event (any contracts.TicketEventTypes member)
// and returns the messages to publish (DeadlinesCalculated on qualification
// and on unblock). Versions at or below the record's last known version are
// Stale (duplicates and reordered events). Events for a ticket without a
// record, other than TicketQualified and the no-op types, wrap ErrEarly.
func (tr *Tracker) Handle(ctx context.Context, st Store, ev contracts.Versioned, now time.Time) (Outcome, []contracts.Message, error) {
	rec, err := st.Record(ctx, ev.AggregateID())
	switch {
	case errors.Is(err, ErrNotFound):
		rec = nil
	case err != nil:
		return "", nil, fmt.Errorf("load sla record %s: %w", ev.AggregateID(), err)
	}
	if rec != nil && ev.AggregateVersion() <= rec.LastKnownVersion {
		return Stale, nil, nil
	}
	var out []contracts.Message
	switch m := ev.(type) {
	case contracts.TicketQualified:
		if rec != nil {
			break // a record exists: qualification happens once, only the version advances
		}
		rec, err = tr.start(m)
		if err != nil {
			return "", nil, err
		}
		if rec.HasDeadline {
			out = append(out, rec.DeadlinesCalculated())
		}
	case contracts.AgentAssignedToTicket:
		if rec == nil {
			return "", nil, fmt.Errorf("AgentAssignedToTicket %s v%d: %w", m.TicketID, m.Version, ErrEarly)
		}
		rec.AgentUserID = m.AssignedAgentUserID
		if tr.Config.RemindersAtOnce && rec.RemindersAt.IsZero() && rec.HasDeadline {
			rec.RemindersAt = rec.active(now).UTC()
		}
	case contracts.TicketBlocked:
		if rec == nil {
			return "", nil, fmt.Errorf("TicketBlocked %s v%d: %w", m.TicketID, m.Version, ErrEarly)
		}
		if !rec.Blocked() && !rec.Completed && !tr.Config.IgnoreBlocking {
			rec.BlockedAt = now.UTC()
		}
	case contracts.TicketUnblocked:
		if rec == nil {
			return "", nil, fmt.Errorf("TicketUnblocked %s v%d: %w", m.TicketID, m.Version, ErrEarly)
		}
		if rec.Blocked() {
			if d := now.Sub(rec.BlockedAt); d > 0 {
				rec.Paused += d
			}
			rec.BlockedAt = time.Time{}
			if rec.HasDeadline && !rec.Completed {
				rec.Revision++
				out = append(out, rec.DeadlinesCalculated())
			}
		}
	case contracts.TicketResolved:
		if rec == nil {
			// Resolved before it was ever qualified: no SLA ran.
			return Ignored, nil, nil
		}
		tr.complete(rec, now)
	case contracts.TicketCreated, contracts.IncidentCreated:
		if rec == nil {
			return Ignored, nil, nil
		}
	default:
		return Ignored, nil, nil
	}
	rec.LastKnownVersion = ev.AggregateVersion()
	if err := st.SaveRecord(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("save sla record %s: %w", rec.TicketID, err)
	}
	return Applied, out, nil
}

func (tr *Tracker) start(m contracts.TicketQualified) (*Record, error) {
	if m.Type == "" || m.SeverityLevel == "" || m.CreatedAt.IsZero() {
		return nil, fmt.Errorf("ticket %s: %w", m.TicketID, ErrMissingTicketData)
	}
	stype, ok := contracts.ServiceTypeOf(m.Type)
	if !ok {
		return nil, fmt.Errorf("ticket %s: type %q has no SLA service type", m.TicketID, m.Type)
	}
	rec := &Record{TicketID: m.TicketID, ServiceType: stype, Severity: m.SeverityLevel, Anchor: m.CreatedAt.UTC()}
	d, tier, ok := tr.Catalog.Duration(m.Email, stype, m.SeverityLevel)
	rec.Tier = tier
	if ok {
		rec.HasDeadline, rec.Window, rec.Revision = true, d, 1
	}
	return rec, nil
}

func (tr *Tracker) complete(rec *Record, now time.Time) {
	if rec.Completed {
		return
	}
	if rec.Blocked() {
		if d := now.Sub(rec.BlockedAt); d > 0 {
			rec.Paused += d
		}
		rec.BlockedAt = time.Time{}
	}
	rec.Completed, rec.CompletedAt = true, now.UTC()
	if rec.HasDeadline {
		met := !now.After(rec.Deadline())
		if tr.Config.DeadlineMetInverted {
			met = !met
		}
		rec.DeadlineMet = &met
	}
}
