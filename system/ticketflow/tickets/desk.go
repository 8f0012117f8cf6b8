package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// TicketStore persists tickets. Implementations run inside the handling's
// transaction (the wiring binds them to it); they need not be safe for
// concurrent use.
type TicketStore interface {
	// Ticket loads a ticket; a missing one is an error wrapping ErrNotFound.
	Ticket(ctx context.Context, id string) (*Ticket, error)
	// SaveTicket inserts or updates a ticket.
	SaveTicket(ctx context.Context, t *Ticket) error
}

// ParkingStore keeps translations that arrived before their ticket.
type ParkingStore interface {
	// Parked returns the parked translation of referenceID, if any.
	Parked(ctx context.Context, referenceID string) (Parked, bool, error)
	// Park stores p, replacing an earlier entry for the same reference.
	Park(ctx context.Context, p Parked) error
	// Unpark deletes the entry of referenceID (no error when absent).
	Unpark(ctx context.Context, referenceID string) error
}

// Repo is what the desk needs inside one transaction.
type Repo interface {
	TicketStore
	ParkingStore
}

// Desk runs the ticket use cases against a Repo. It holds no state besides
// the agent directory and is safe for concurrent use; every method works on
// the repo it is given, so the caller decides the transaction:
//
//	tx := begin(); events, err := desk.X(ctx, repoIn(tx), ...); outbox(tx, events); commit(tx)
type Desk struct {
	Agents Directory
}

// NewDesk returns a desk with the given directory.
func NewDesk(agents Directory) *Desk { return &Desk{Agents: agents} }

// HandleInquirySubmitted creates the ticket of an inquiry (id = inquiry id).
// A ticket that already exists makes it a no-op (business idempotency, as
// in the original). A parked translation is attached and removed.
func (d *Desk) HandleInquirySubmitted(ctx context.Context, repo Repo, m contracts.InquirySubmitted, now time.Time) ([]contracts.Message, error) {
	return d.create(ctx, repo, FromInquiry(m), now)
}

func (d *Desk) create(ctx context.Context, repo Repo, data NewTicketData, now time.Time) ([]contracts.Message, error) {
	if _, err := repo.Ticket(ctx, data.ID); err == nil {
		return nil, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("load ticket %s: %w", data.ID, err)
	}
	var parked *Parked
	if p, ok, err := repo.Parked(ctx, data.ID); err != nil {
		return nil, fmt.Errorf("load parked translation %s: %w", data.ID, err)
	} else if ok {
		parked = &p
	}
	t, err := Create(data, parked, now)
	if err != nil {
		return nil, err
	}
	if err := repo.SaveTicket(ctx, t); err != nil {
		return nil, fmt.Errorf("save ticket %s: %w", t.ID, err)
	}
	if parked != nil {
		if err := repo.Unpark(ctx, data.ID); err != nil {
			return nil, fmt.Errorf("unpark %s: %w", data.ID, err)
		}
	}
	return t.TakeEvents(), nil
}

// TranslationOutcome says what a translation result did.
type TranslationOutcome string

// Outcomes of HandleTranslation.
const (
	TranslationAttached  TranslationOutcome = "attached"  // the ticket existed and changed
	TranslationUnchanged TranslationOutcome = "unchanged" // the ticket existed; nothing new (a duplicate)
	TranslationParked    TranslationOutcome = "parked"    // no ticket yet: kept for its creation
	TranslationKept      TranslationOutcome = "kept"      // no ticket; an earlier real translation stays parked
)

// HandleTranslation applies TranslationCompleted (skipped=false) or
// TranslationSkipped (skipped=true, text ignored). A translation that
// arrives before its ticket is parked and attached when the ticket is
// created. A skip never replaces a parked real translation. The original
// stored a skipped result as a null text, which failed and looped forever
// (§12.6 #8); here a skip is parked as such.
func (d *Desk) HandleTranslation(ctx context.Context, repo Repo, referenceID, text string, skipped bool, now time.Time) (TranslationOutcome, error) {
	if strings.TrimSpace(referenceID) == "" {
		return "", invalid("translation: referenceId is required")
	}
	t, err := repo.Ticket(ctx, referenceID)
	switch {
	case err == nil:
		changed, err := t.AttachTranslation(text, skipped)
		if err != nil {
			return "", err
		}
		if !changed {
			return TranslationUnchanged, nil
		}
		if err := repo.SaveTicket(ctx, t); err != nil {
			return "", fmt.Errorf("save ticket %s: %w", t.ID, err)
		}
		return TranslationAttached, nil
	case !errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("load ticket %s: %w", referenceID, err)
	}
	if old, ok, err := repo.Parked(ctx, referenceID); err != nil {
		return "", fmt.Errorf("load parked translation %s: %w", referenceID, err)
	} else if ok && !old.Skipped && skipped {
		return TranslationKept, nil
	}
	p := Parked{ReferenceID: referenceID, TranslatedText: text, Skipped: skipped, ParkedAt: now.UTC()}
	if skipped {
		p.TranslatedText = ""
	}
	if err := repo.Park(ctx, p); err != nil {
		return "", fmt.Errorf("park translation %s: %w", referenceID, err)
	}
	return TranslationParked, nil
}

// HandleDeadlines applies DeadlinesCalculated. Service types that are not
// tickets are ignored (as in the original). An unknown ticket is an error
// wrapping ErrNotFound, so the message is retried. applied is false for a
// stale revision.
func (d *Desk) HandleDeadlines(ctx context.Context, repo Repo, m contracts.DeadlinesCalculated) (applied bool, err error) {
	if !strings.Contains(string(m.ServiceType), "Ticket") {
		return false, nil
	}
	t, err := repo.Ticket(ctx, m.ServiceSourceID)
	if err != nil {
		return false, fmt.Errorf("deadline for ticket %s: %w", m.ServiceSourceID, err)
	}
	if !t.SetDeadline(m.DeadlineUTC, m.Revision) {
		return false, nil
	}
	if err := repo.SaveTicket(ctx, t); err != nil {
		return false, fmt.Errorf("save ticket %s: %w", t.ID, err)
	}
	return true, nil
}

// Command is one HTTP command on the desk. Build it with the constructors
// below; Name is the contracts.Command* name (anomaly matching, spans).
type Command struct {
	Name     string
	TicketID string
	create   *NewTicketData
	apply    func(d *Desk, t *Ticket, now time.Time) error
}

// CreateTicket is POST /tickets/ (sync flow): it creates the ticket with the
// translation already set, and records TicketCreated (the original
// published nothing here, so the inquiry was never linked).
func CreateTicket(data NewTicketData) Command {
	return Command{Name: contracts.CommandCreateTicket, TicketID: data.ID, create: &data}
}

// Qualify is POST /tickets/{id}/qualify.
func Qualify(id string, typ contracts.TicketType, sev contracts.Severity) Command {
	return Command{Name: contracts.CommandQualifyTicket, TicketID: id, apply: func(_ *Desk, t *Ticket, _ time.Time) error { return t.Qualify(typ, sev) }}
}

// Assign is POST /tickets/{id}/assign/{agentId}; agentID must be in the directory.
func Assign(id, agentID string) Command {
	return Command{Name: contracts.CommandAssignAgentToTicket, TicketID: id, apply: func(d *Desk, t *Ticket, _ time.Time) error {
		a, err := d.Agents.ByID(agentID)
		if err != nil {
			return invalid("cannot assign ticket %s: unknown agent %s", t.ID, agentID)
		}
		return t.Assign(a)
	}}
}

// Block is POST /tickets/{id}/block/{reason}.
func Block(id, reason string) Command {
	return Command{Name: contracts.CommandBlockTicket, TicketID: id, apply: func(_ *Desk, t *Ticket, _ time.Time) error { return t.Block(reason) }}
}

// Unblock is POST /tickets/{id}/unblock/{reason}.
func Unblock(id, reason string) Command {
	return Command{Name: contracts.CommandUnblockTicket, TicketID: id, apply: func(_ *Desk, t *Ticket, _ time.Time) error { return t.Unblock(reason) }}
}

// Resolve is POST /tickets/{id}/resolve/{resolution}.
func Resolve(id, resolution string) Command {
	return Command{Name: contracts.CommandResolveTicket, TicketID: id, apply: func(d *Desk, t *Ticket, _ time.Time) error {
		var assignee Agent
		if t.AssignedTo != "" {
			a, err := d.Agents.ByID(t.AssignedTo)
			if err != nil {
				return fmt.Errorf("resolve %s: assignee: %w", t.ID, err)
			}
			assignee = a
		}
		return t.Resolve(resolution, assignee)
	}}
}

// AddClientNote is POST /tickets/{id}/client-notes.
func AddClientNote(id, note string) Command {
	return Command{Name: contracts.CommandAddClientNote, TicketID: id, apply: func(_ *Desk, t *Ticket, now time.Time) error { return t.AddClientNote(note, now) }}
}

// Execute runs a command: load, apply, save. It returns the events to
// publish (through the outbox, in the same transaction).
func (d *Desk) Execute(ctx context.Context, repo Repo, cmd Command, now time.Time) ([]contracts.Message, error) {
	if cmd.create != nil {
		if _, err := repo.Ticket(ctx, cmd.TicketID); err == nil {
			return nil, &DomainError{Kind: ErrInvalidInput, Msg: fmt.Sprintf("ticket %s already exists", cmd.TicketID)}
		}
		return d.create(ctx, repo, *cmd.create, now)
	}
	if cmd.apply == nil {
		return nil, fmt.Errorf("command %q has nothing to do", cmd.Name)
	}
	t, err := repo.Ticket(ctx, cmd.TicketID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.Name, err)
	}
	if err := cmd.apply(d, t, now); err != nil {
		return nil, err
	}
	if err := repo.SaveTicket(ctx, t); err != nil {
		return nil, fmt.Errorf("%s: save ticket %s: %w", cmd.Name, t.ID, err)
	}
	return t.TakeEvents(), nil
}
