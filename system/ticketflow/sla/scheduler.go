package sla

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Sender posts an agent message (MessageClient does, to Communication's
// POST /messages). A retried Send carries the same idempotency key.
type Sender interface {
	Send(ctx context.Context, m AgentMessage) error
}

// ActionTx is the transaction an action runs in: the service's *app.Tx
// (writes, effect keys, and Publish into the outbox by contract route).
type ActionTx interface {
	Querier
	// Effect records idempotency keys for the lab.effect.keys span attribute.
	Effect(keys ...string)
	// Publish puts m in the transaction's outbox.
	Publish(ctx context.Context, m contracts.Message) error
}

// TxFunc runs fn in one transaction whose writes and outbox rows commit
// together: in the service, Runtime.Exec of the SLADeadlineWatch command
// (with its anomaly points and command span).
type TxFunc func(ctx context.Context, fn func(ctx context.Context, tx ActionTx) error) error

// SchedulerConfig wires a Scheduler.
type SchedulerConfig struct {
	// Timing is the reminder and breach timing (the Tracker's Config).
	Timing Config
	// Reads is where due records are found outside a transaction (the
	// service's *store.DB).
	Reads Querier
	// InTx runs an action's transaction.
	InTx TxFunc
	// Sender delivers agent messages (reminders, breach messages).
	Sender Sender
	// Claims, when set, reserves an action for this scheduler before its
	// agent message is sent (instances sharing the database each run a
	// scheduler; see Claimer). Nil: no claims (a single scheduler).
	Claims Claimer
	// Clock is the service clock; due times are read on it.
	Clock clock.Clock
	// MaxWait bounds one sleep (default 1 s of clock time), so a changed
	// clock offset or a missed wake-up is noticed soon.
	MaxWait time.Duration
	// RetryAfter is the pause after a failed action before the next scan
	// (default 1 s of clock time).
	RetryAfter time.Duration
	// Batch is how many due records one scan handles (default 64).
	Batch int
	Log   *slog.Logger
	// Tracer opens one span per action ("sla action"), around the agent
	// message and the transaction, so the HTTP call to Communication (its
	// traceparent) and the SLABreached alert of one action are one trace.
	// Nil: no span.
	Tracer trace.Tracer
}

// Validate reports missing parts and bad timing.
func (c SchedulerConfig) Validate() error {
	var errs []error
	if c.Reads == nil || c.InTx == nil || c.Sender == nil {
		errs = append(errs, errors.New("sla scheduler: Reads, InTx and Sender are required"))
	}
	if c.MaxWait < 0 || c.RetryAfter < 0 || c.Batch < 0 {
		errs = append(errs, errors.New("sla scheduler: MaxWait, RetryAfter and Batch must not be negative"))
	}
	return errors.Join(append(errs, c.Timing.Validate())...)
}

// Scheduler is the loop that performs due reminders and breach alerts. Each
// action is one transaction: the agent message is posted first (with its
// idempotency key, so a repeat after a crash is absorbed by Communication),
// then the SLABreached alert goes into the outbox, the action is recorded in
// sla_effects and marked done on the record, all committed together. A crash
// before the commit repeats the action with the same keys; after it, the
// action is never repeated.
type Scheduler struct {
	cfg    SchedulerConfig
	clk    clock.Clock
	log    *slog.Logger
	tracer trace.Tracer
	wake   chan struct{}
}

// NewScheduler validates cfg and applies defaults.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tracer := cfg.Tracer
	if tracer == nil {
		tracer = noop.NewTracerProvider().Tracer("")
	}
	return &Scheduler{cfg: cfg, clk: clock.Or(cfg.Clock), log: log.With("component", "sla-scheduler"), tracer: tracer,
		wake: make(chan struct{}, 1)}, nil
}

// Wake makes the loop scan now (the consumer calls it after a commit that
// changed a record). It never blocks.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run scans, performs what is due and sleeps until the next due instant (at
// most MaxWait), or until Wake, until ctx ends. It returns nil when ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	s.log.Info("SLA scheduler started")
	defer s.log.Info("SLA scheduler stopped")
	for {
		performed, failed, err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.cfg.MaxWait
		switch {
		case err != nil || failed > 0:
			if err != nil {
				s.log.Warn("SLA scan failed", "err", err)
			}
			wait = min(wait, s.cfg.RetryAfter)
		default:
			next, ok, err := NewSQLStore(s.cfg.Reads, s.cfg.Timing, s.clk).NextDueAt(ctx)
			if err != nil {
				s.log.Warn("SLA next due time", "err", err)
				wait = min(wait, s.cfg.RetryAfter)
			} else if ok {
				d := next.Sub(s.clk.Now())
				if d <= 0 && performed == 0 {
					d = s.cfg.RetryAfter // overdue yet nothing to do: do not spin
				}
				wait = min(wait, max(d, 0))
			}
		}
		if wait > 0 {
			if err := s.sleep(ctx, wait); err != nil {
				return nil
			}
		}
	}
}

func (s *Scheduler) sleep(ctx context.Context, d time.Duration) error {
	var fire <-chan time.Time
	if _, isReal := s.clk.(*clock.Real); isReal {
		t := time.NewTimer(d)
		defer t.Stop()
		fire = t.C
	} else {
		fire = s.clk.After(d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-fire:
	case <-s.wake:
	}
	return nil
}

// RunOnce performs every action due now on up to Batch records and returns
// how many actions it performed and how many failed (to be retried by a
// later scan).
func (s *Scheduler) RunOnce(ctx context.Context) (performed, failed int, err error) {
	now := s.clk.Now()
	ids, err := NewSQLStore(s.cfg.Reads, s.cfg.Timing, s.clk).DueTickets(ctx, now, s.cfg.Batch)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return performed, failed, nil
		}
		n, err := s.performDue(ctx, id, now)
		performed += n
		if err != nil {
			failed++
			s.log.Warn("SLA action failed; will retry", "ticket", id, "err", err)
		}
	}
	return performed, failed, nil
}

// performDue performs the actions of one record due at now, oldest first,
// each in its own transaction; it stops at the first failure, and at an
// action another instance has claimed (that one performs it).
func (s *Scheduler) performDue(ctx context.Context, ticketID string, now time.Time) (int, error) {
	rec, err := NewSQLStore(s.cfg.Reads, s.cfg.Timing, s.clk).Record(ctx, ticketID)
	if err != nil {
		return 0, err
	}
	acts := Due(s.cfg.Timing, rec, now)
	if len(acts) == 0 {
		// The stored due time is stale (e.g. a reminder that can no longer be
		// sent because the deadline passed): store the next one.
		return 0, s.cfg.InTx(ctx, func(ctx context.Context, tx ActionTx) error {
			st := NewSQLStore(tx, s.cfg.Timing, s.clk)
			r, err := st.Record(ctx, ticketID)
			if err != nil {
				return err
			}
			return st.SaveRecord(ctx, r)
		})
	}
	done := 0
	for _, a := range acts {
		err := s.perform(ctx, a, now)
		if errors.Is(err, errClaimed) {
			return done, nil
		}
		if err != nil {
			return done, fmt.Errorf("%s: %w", a.Key, err)
		}
		done++
	}
	return done, nil
}

// errNotDue makes a transaction roll back when the action is no longer due
// (the record changed since the scan: resolved, blocked, already done).
var errNotDue = errors.New("action no longer due")

// errClaimed says another instance holds the claim on an action.
var errClaimed = errors.New("action claimed by another instance")

// claim reserves a's agent message for this scheduler (with Claims set),
// then re-reads the record: an instance that read it before another one
// performed the action and committed, and claims only after that claim was
// gone, must not send again. errClaimed: another instance holds the claim;
// errNotDue: the action was done meanwhile.
func (s *Scheduler) claim(ctx context.Context, a Action, now time.Time) error {
	if s.cfg.Claims == nil {
		return nil
	}
	ok, err := s.cfg.Claims.Claim(ctx, a.Key)
	if err != nil {
		return err
	}
	if !ok {
		return errClaimed
	}
	r, err := NewSQLStore(s.cfg.Reads, s.cfg.Timing, s.clk).Record(ctx, a.TicketID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(Due(s.cfg.Timing, r, now), func(b Action) bool { return b.Key == a.Key }) {
		return errNotDue
	}
	return nil
}

func (s *Scheduler) perform(ctx context.Context, a Action, now time.Time) (err error) {
	msg, alert := Effects(a)
	if msg != nil {
		// The message leaves before the transaction: claim it first, so of
		// several instances only one sends it. (Without a message the
		// transaction's own re-check is enough.)
		switch err := s.claim(ctx, a, now); {
		case errors.Is(err, errClaimed):
			s.log.Debug("SLA action claimed by another instance", "key", a.Key)
			return err
		case errors.Is(err, errNotDue):
			s.log.Info("SLA action dropped: no longer due", "key", a.Key)
			return nil
		case err != nil:
			return err
		}
	}
	ctx, span := s.tracer.Start(ctx, "sla action", trace.WithAttributes(
		attribute.String("lab.sla.action", a.Key), attribute.String("lab.sla.ticket", a.TicketID)))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	if msg != nil {
		if err := s.cfg.Sender.Send(ctx, *msg); err != nil {
			return fmt.Errorf("send %s: %w", msg.IdempotencyKey, err)
		}
	}
	err = s.cfg.InTx(ctx, func(ctx context.Context, tx ActionTx) error {
		st := NewSQLStore(tx, s.cfg.Timing, s.clk)
		r, err := st.Record(ctx, a.TicketID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(Due(s.cfg.Timing, r, now), func(b Action) bool { return b.Key == a.Key }) {
			return errNotDue
		}
		MarkDone(r, a, now)
		row := EffectRow{Key: a.Key, TicketID: a.TicketID, Kind: a.Kind, N: a.N, Due: a.Due, Done: now, AgentUserID: a.AgentUserID}
		keys := []string{a.Key}
		if msg != nil {
			row.MessageKey = msg.IdempotencyKey
			if msg.IdempotencyKey != a.Key {
				keys = append(keys, msg.IdempotencyKey)
			}
		}
		if alert != nil {
			if err := tx.Publish(ctx, *alert); err != nil {
				return fmt.Errorf("publish SLABreached: %w", err)
			}
		}
		if _, err := st.AddEffect(ctx, row); err != nil {
			return err
		}
		if err := st.DeleteClaim(ctx, a.Key); err != nil {
			return err
		}
		tx.Effect(keys...)
		return st.SaveRecord(ctx, r)
	})
	if errors.Is(err, errNotDue) {
		s.log.Info("SLA action dropped: no longer due", "key", a.Key)
		return nil
	}
	if err == nil {
		s.log.Debug("SLA action performed", "key", a.Key, "kind", a.Kind)
	}
	return err
}
