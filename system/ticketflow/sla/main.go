package sla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var _ service.Main = Main

// OrderScope is the ordering-guard scope of the ticket events SLA consumes.
const OrderScope = "ticket"

// Main runs the SLA service: the sla-ticket-changes consumer (prefetch 1,
// ordering guard on), the scheduler loop, GET
// /sla/{serviceType}/{serviceSourceId}/deadline-reminders and the runtime's
// routes. It returns nil when ctx ends.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.SLA, Migrations: []store.Migrations{Migrations}})
	if err != nil {
		return fmt.Errorf("sla: %w", err)
	}
	if err := Wire(rt, nil); err != nil {
		_ = rt.Close()
		return fmt.Errorf("sla: %w", err)
	}
	return rt.Run(ctx)
}

// Wire registers the SLA consumer, scheduler loop and route on rt (Main
// without New and Run; tests run the service in-process with it). clk is the
// clock of the SLA logic, nil for the runtime's; tests drive a short SLA
// with a fake one. rt must have been built with Migrations.
func Wire(rt *app.Runtime, clk clock.Clock) error {
	cfg := rt.Config()
	set, err := ParseSettings(cfg.Settings, cfg.RunDir)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	tr, err := NewTracker(ScaledCatalog(set.Scale), set.Timing)
	if err != nil {
		return err
	}
	if clk == nil {
		clk = rt.Clock()
	}
	sender := &MessageClient{BaseURL: set.CommunicationURL, HTTP: &http.Client{Timeout: 5 * time.Second}}
	// Every instance of the service shares the database and runs this loop;
	// claims keep an agent message to one of them.
	claims := &SQLClaims{DB: rt.DB(), Holder: cfg.ID(), TTL: set.ClaimTTL}
	if err := claims.Validate(); err != nil {
		return err
	}
	sched, err := NewScheduler(SchedulerConfig{
		Timing: set.Timing, Reads: rt.DB(), Sender: sender, Claims: claims, Clock: clk, MaxWait: set.MaxWait, Log: rt.Log(),
		Tracer: rt.TracerProvider().Tracer("github.com/ticketflow-lab/tflab/system/ticketflow/sla"),
		InTx: func(ctx context.Context, fn func(ctx context.Context, tx ActionTx) error) error {
			return rt.Exec(ctx, contracts.CommandDeadlineWatch, "", func(ctx context.Context, tx *app.Tx) error {
				return fn(ctx, tx)
			}, app.ExecBackground())
		},
	})
	if err != nil {
		return err
	}
	h := &ticketEvents{tracker: tr, clk: clk, wake: sched.Wake}
	// The queue layout is a lesson variant (contracts.Variant.SLAQueues).
	// Topic-per-type queues each see one type: a contiguous ordering guard
	// would hold every later version back, so they run without it and the
	// tracker's stale check is all the ordering they get — the lesson.
	v := rt.Variant()
	for queue, types := range v.SLAQueueTypes() {
		for _, typ := range types {
			if v.SLAQueues == contracts.SLAQueuesTopicPerType {
				rt.Handle(queue, typ, h.handle)
			} else {
				rt.Handle(queue, typ, h.handle, app.Ordered(OrderScope))
			}
		}
	}
	Register(rt.Mux(), set.Timing, NewSQLStore(rt.DB(), set.Timing, clk), rt.Log())
	rt.Go("sla-scheduler", sched.Run)
	rt.Log().Info("SLA configured", "scale", set.Scale, "breach_delay", set.Timing.BreachDelay,
		"breach_interval", set.Timing.BreachInterval, "communication", set.CommunicationURL)
	return nil
}

// ticketEvents handles every ticket event on sla-ticket-changes.
type ticketEvents struct {
	tracker *Tracker
	clk     clock.Clock
	wake    func()
}

func (h *ticketEvents) handle(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
	ev, ok := msg.(contracts.Versioned)
	if !ok {
		return fmt.Errorf("sla: %s is not a ticket event", msg.MessageType())
	}
	outcome, out, err := h.tracker.Handle(ctx, NewSQLStore(tx, h.tracker.Config, h.clk), ev, h.clk.Now())
	if err != nil {
		if errors.Is(err, ErrMissingTicketData) {
			return fmt.Errorf("%w (the ticket events lack the SLA extension fields; this message goes to the dead-letter queue)", err)
		}
		return err
	}
	for _, m := range out {
		if err := tx.Publish(ctx, m); err != nil {
			return err
		}
		if dc, ok := m.(contracts.DeadlinesCalculated); ok {
			tx.Effect("deadlines:" + dc.ServiceSourceID + ":" + strconv.Itoa(dc.Revision))
		}
	}
	if outcome == Applied {
		tx.OnCommit(h.wake)
	}
	return nil
}
