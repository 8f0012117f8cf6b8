package tickets

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var _ service.Main = Main

// Main runs the Tickets service: the desk's consumers (InquirySubmitted,
// TranslationCompleted/Skipped, DeadlinesCalculated), the HTTP API and the
// shared runtime (app).
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.Tickets, Migrations: []store.Migrations{Migrations}})
	if err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	if err := Wire(rt); err != nil {
		_ = rt.Close()
		return fmt.Errorf("tickets: %w", err)
	}
	return rt.Run(ctx)
}

// Wire registers the Tickets handlers and routes on rt (Main without Run;
// tests use it to run the service in-process).
func Wire(rt *app.Runtime) error {
	w := &wiring{rt: rt, desk: NewDesk(NewDirectory()), queries: NewSQLQueries(rt.DB())}
	rt.Handle(contracts.QueueInquirySubmittedTickets, contracts.TypeInquirySubmitted, w.inquirySubmitted)
	rt.Handle(contracts.QueueTranslationCompletedTickets, contracts.TypeTranslationCompleted, w.translation)
	rt.Handle(contracts.QueueTranslationCompletedTickets, contracts.TypeTranslationSkipped, w.translation)
	// tickets-sla-changes sees every revision of a ticket's deadline.
	rt.Handle(contracts.QueueTicketsSLAChanges, contracts.TypeDeadlinesCalculated, w.deadlines, app.Ordered("deadlines"))
	if rt.Variant().ListenToYourself {
		// Listen to yourself (spec §6.3): Tickets hears its own TicketCreated
		// through the broker; the handling (its span) is the whole lesson.
		rt.Handle(contracts.QueueTicketsTicketCreated, contracts.TypeTicketCreated, func(ctx context.Context, _ *app.Tx, msg contracts.Message) error {
			rt.Log().Debug("Own TicketCreated heard", "ticket", msg.(contracts.Versioned).AggregateID())
			return nil
		})
	}
	h, err := NewHandler(HandlerConfig{Commands: w, Queries: w.queries, Agents: w.desk.Agents, Log: rt.Log()})
	if err != nil {
		return err
	}
	h.Register(rt.Mux())
	return nil
}

// wiring binds the desk to the runtime: every use case is one transaction
// whose events go to the outbox.
type wiring struct {
	rt      *app.Runtime
	desk    *Desk
	queries *SQLStore
}

var _ CommandRunner = (*wiring)(nil)

// Run implements CommandRunner over Desk.Execute in one app.Exec.
func (w *wiring) Run(ctx context.Context, cmd Command) error {
	status := ""
	if cmd.TicketID != "" {
		if t, err := w.queries.Ticket(ctx, cmd.TicketID); err == nil {
			status = string(t.Status)
		}
	}
	return w.rt.Exec(ctx, cmd.Name, status, func(ctx context.Context, tx *app.Tx) error {
		events, err := w.desk.Execute(ctx, NewSQLRepo(tx.Store()), cmd, w.rt.Clock().Now())
		if err != nil {
			return err
		}
		return publishEvents(ctx, tx, events)
	})
}

func (w *wiring) inquirySubmitted(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	m, ok := msg.(contracts.InquirySubmitted)
	if !ok {
		return fmt.Errorf("inquiry submitted: unexpected %T", msg)
	}
	events, err := w.desk.HandleInquirySubmitted(ctx, NewSQLRepo(tx.Store()), m, w.rt.Clock().Now())
	if err != nil {
		return err
	}
	return publishEvents(ctx, tx, events)
}

func (w *wiring) translation(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	var ref, text string
	var skipped bool
	switch m := msg.(type) {
	case contracts.TranslationCompleted:
		ref, text = m.ReferenceID, m.TranslatedText
	case contracts.TranslationSkipped:
		ref, skipped = m.ReferenceID, true
	default:
		return fmt.Errorf("translation: unexpected %T", msg)
	}
	out, err := w.desk.HandleTranslation(ctx, NewSQLRepo(tx.Store()), ref, text, skipped, w.rt.Clock().Now())
	if err != nil {
		return err
	}
	switch out {
	case TranslationAttached:
		tx.Effect("translation:" + ref + ":attached")
	case TranslationParked:
		tx.Effect("translation:" + ref + ":parked")
	}
	return nil
}

func (w *wiring) deadlines(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	m, ok := msg.(contracts.DeadlinesCalculated)
	if !ok {
		return fmt.Errorf("deadlines: unexpected %T", msg)
	}
	applied, err := w.desk.HandleDeadlines(ctx, NewSQLRepo(tx.Store()), m)
	if err != nil {
		return err
	}
	if applied {
		tx.Effect(fmt.Sprintf("deadline:%s:%d", m.ServiceSourceID, m.Revision))
	}
	return nil
}

// publishEvents publishes the aggregate's events in order and records one
// effect key per event (type, ticket, version): an event is an effect that
// must happen once.
func publishEvents(ctx context.Context, tx *app.Tx, events []contracts.Message) error {
	for _, e := range events {
		if err := tx.Publish(ctx, e); err != nil {
			return err
		}
		if v, ok := e.(contracts.Versioned); ok {
			tx.Effect(fmt.Sprintf("%s:%s:%d", e.MessageType(), v.AggregateID(), v.AggregateVersion()))
		}
	}
	return nil
}
