package communication

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var _ service.Main = Main

// Main runs the Communication service: the TicketResolved consumer (one
// closure message per ticket), the alert consumer (any message on
// communication-alerts, read as an alert), the HTTP API with the validated
// POST /messages, and the runtime's routes. The "idempotency" protection
// decides whether a repeated idempotency key is absorbed (on) or stored
// again (off). It returns nil when ctx ends.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.Communication, Migrations: []store.Migrations{Migrations}})
	if err != nil {
		return fmt.Errorf("communication: %w", err)
	}
	Wire(rt)
	return rt.Run(ctx)
}

// Wire registers the Communication consumers and routes on rt (Main without
// New and Run; tests run the service in-process with it). rt must have been
// built with Migrations.
func Wire(rt *app.Runtime) {
	s := &server{rt: rt, clk: rt.Clock(), idempotent: rt.Idempotency()}
	rt.Handle(contracts.QueueCommunicationTicketResolved, contracts.TypeTicketResolved, s.ticketResolved)
	rt.Handle(contracts.QueueCommunicationAlerts, messaging.AnyType, s.alert, app.MatchAs(contracts.TypeProducerAgnosticAlert))
	Register(rt.Mux(), NewSQLStore(rt.DB(), s.idempotent), s, rt.Log())
}

type server struct {
	rt         *app.Runtime
	clk        clock.Clock
	idempotent bool
}

var _ Poster = (*server)(nil)

func (s *server) ticketResolved(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	m, ok := msg.(contracts.TicketResolved)
	if !ok {
		return fmt.Errorf("communication: want TicketResolved, got %s", msg.MessageType())
	}
	inserted, err := HandleTicketResolved(ctx, NewSQLStore(tx, s.idempotent), m, s.rt.NewID(), s.clk.Now())
	if err != nil {
		return err
	}
	effect(ctx, tx, inserted, ClosureKey(m.TicketID))
	return nil
}

func (s *server) alert(ctx context.Context, tx *app.Tx, _ contracts.Message) error {
	d := tx.Delivery
	a, err := contracts.DecodeAlert(d.Body)
	if err != nil {
		return fmt.Errorf("%s %s on %s: %w", d.Type, d.ID, d.Queue, err)
	}
	inserted, err := HandleAlert(ctx, NewSQLStore(tx, s.idempotent), d.Body, d.ID, s.rt.NewID(), s.clk.Now())
	if err != nil {
		return err
	}
	effect(ctx, tx, inserted, AlertKey(a, d.ID))
	return nil
}

// effect records key as an effect of the execution (lab.effect.keys, what
// the effect-exactly-once checker counts) only when this execution really
// stored the row. A row the idempotency key absorbed is no effect: it is
// marked by a span event instead, so a trace still shows why nothing was
// stored. (With the idempotency protection off every call inserts, so every
// repeat is recorded and counted as the duplicate it is.)
func effect(ctx context.Context, tx *app.Tx, inserted bool, key string) {
	if key == "" {
		return
	}
	if inserted {
		tx.Effect(key)
		return
	}
	trace.SpanFromContext(ctx).AddEvent(EventEffectAbsorbed, trace.WithAttributes(attribute.String("key", key)))
}

// EventEffectAbsorbed is the span event of an effect whose idempotency key
// was already stored (nothing was written).
const EventEffectAbsorbed = "idempotent effect absorbed"

// PostMessage stores a validated POST /messages request as the PostMessage
// command (one transaction with its anomaly points).
func (s *server) PostMessage(ctx context.Context, req PostMessageRequest) (id string, inserted bool, err error) {
	err = s.rt.Exec(ctx, contracts.CommandPostCommunicationMsg, "", func(ctx context.Context, tx *app.Tx) error {
		m := req.Message(s.rt.NewID(), s.clk.Now())
		var err error
		id, inserted, err = NewSQLStore(tx, s.idempotent).AddMessage(ctx, m)
		if err != nil {
			return err
		}
		effect(ctx, tx, inserted, m.IdempotencyKey)
		return nil
	})
	return id, inserted, err
}
