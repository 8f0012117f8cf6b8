package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// Handler handles one decoded message inside its transaction. msg is the
// value contracts.Decode returned for the delivery's type (e.g.
// contracts.TicketCreated); for a handler registered for messaging.AnyType
// it is nil when contracts does not know the type (read Tx.Delivery.Body). Returning an error rolls the transaction back
// and sends the delivery down the retry path.
type Handler func(ctx context.Context, tx *Tx, msg contracts.Message) error

// Tx is one execution's transaction (a message handling or a command). Its
// writes (through the embedded messaging.Tx: Exec, Query, QueryRow,
// OnCommit, Effect) and its publishes commit together.
//
// Publish with Tx.Publish, never with the embedded messaging.Tx.Publish: only
// Tx.Publish routes by contract, takes the id from the seeded source and
// runs the OutboxSave and Publish anomaly points.
type Tx struct {
	*messaging.Tx
	rt *Runtime
	// Delivery is the message being handled; nil for commands.
	Delivery *messaging.Delivery
	// prepared is what the handler's Prepare step returned (nil without one).
	prepared any
	// background: the execution is a background worker's (ExecBackground).
	background bool

	mu        sync.Mutex
	published []published
}

type published struct{ msgType, status string }

// Publish publishes m (routed by contracts.RouteFor with this service's
// AppName) as part of the transaction. Versioned messages carry their
// aggregate id and version. After the outbox insert (outbox on) the
// OutboxSave point runs, then the Publish point: an anomaly there fails the
// execution and rolls everything back. In a background execution with the
// outbox on, the Publish point runs only in the relay (ExecBackground).
func (t *Tx) Publish(ctx context.Context, m contracts.Message) error {
	msg, route, err := t.rt.envelope(m)
	if err != nil {
		return err
	}
	if err := t.Tx.Publish(ctx, route, msg); err != nil {
		return err
	}
	status := contracts.TicketStatusOf(m)
	t.mu.Lock()
	t.published = append(t.published, published{m.MessageType(), status})
	t.mu.Unlock()
	reg := t.rt.reg
	if t.rt.Bus().Protections().Outbox {
		if err := reg.Check(anomaly.OutboxSave, m.MessageType(), status).Apply(ctx, t.rt.Clock()); err != nil {
			return err
		}
	}
	if t.background && t.rt.Bus().Protections().Outbox {
		return nil
	}
	return reg.Check(anomaly.Publish, m.MessageType(), status).Apply(ctx, t.rt.Clock())
}

// ExecOption tunes one Exec.
type ExecOption func(*Tx)

// ExecBackground marks the execution as a background worker's (SLA's
// reminder and breach loop): the original ran those outside any execution,
// so with the outbox on OutboxErrorOnPublish did not fail their write; it
// fired in the relay, after the row had committed, and the relay sent the
// row again at every poll (repeated SLA alerts, spec §8.6). With the outbox
// off the Publish point still runs after the direct publish.
func ExecBackground() ExecOption { return func(t *Tx) { t.background = true } }

// deadLettered is the bus's DeadLettered hook: with publish-fault-on-failure
// on, the given-up message goes out as Fault.<T> (key fault.<kebab-T>) to
// the faults exchange, directly; a fault that cannot be published is logged.
func (rt *Runtime) deadLettered(ctx context.Context, queue string, d *messaging.Delivery, cause error) {
	if !rt.set.variant.Faults {
		return
	}
	f := contracts.Fault{Inner: d.Type, FaultedMessage: d.Body, ExceptionType: fmt.Sprintf("%T", cause),
		ExceptionMessage: cause.Error(), FailedOnQueue: queue}
	if !json.Valid(d.Body) {
		f.FaultedMessage = nil
	}
	msg, err := messaging.NewMessage(f.MessageType(), f)
	if err == nil {
		msg.ID, msg.Timestamp, msg.CausationID, msg.CorrelationID = rt.NewID(), rt.Clock().Now(), d.ID, d.CorrelationID
		r := contracts.FaultRoute(contracts.ExchangeFaults, d.Type)
		err = rt.Bus().Publisher().Publish(ctx, messaging.To(r.Exchange, r.RoutingKey), msg)
	}
	if err != nil {
		rt.Log().Warn("Fault not published", "queue", queue, "msg_id", d.ID, "err", err)
	}
}

// afterRelayPublish is the bus's AfterRelayPublish hook: the Publish point
// for a row the relay published. An error leaves the row unsent.
func (rt *Runtime) afterRelayPublish(ctx context.Context, m messaging.Message) error {
	status := ""
	if msg, err := contracts.Decode(m.Type, m.Body); err == nil {
		status = contracts.TicketStatusOf(msg)
	}
	return rt.reg.Check(anomaly.Publish, m.Type, status).Apply(ctx, rt.Clock())
}

// Prepared returns what the handler's Prepare step computed before the
// transaction began (nil when the handler has none, and for commands).
func (t *Tx) Prepared() any { return t.prepared }

// Store is the underlying store transaction, for SQL stores that take a
// *store.Tx (Exec, Query and QueryRow are also promoted on Tx itself).
func (t *Tx) Store() *store.Tx { return t.Tx.Tx }

// Published lists the types of the messages published so far.
func (t *Tx) Published() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, len(t.published))
	for i, p := range t.published {
		out[i] = p.msgType
	}
	return out
}

func (t *Tx) publishedCopy() []published {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]published(nil), t.published...)
}

// envelope wraps a contract message for the messaging layer.
func (rt *Runtime) envelope(m contracts.Message) (messaging.Message, messaging.Route, error) {
	r, err := contracts.RouteFor(m, rt.svc.AppName)
	if err != nil {
		return messaging.Message{}, messaging.Route{}, err
	}
	msg, err := messaging.NewMessage(m.MessageType(), m)
	if err != nil {
		return messaging.Message{}, messaging.Route{}, fmt.Errorf("encode %s: %w", m.MessageType(), err)
	}
	msg.ID = rt.NewID()
	msg.Timestamp = rt.Clock().Now()
	if v, ok := m.(contracts.Versioned); ok && v.AggregateID() != "" && v.AggregateVersion() > 0 {
		msg = msg.WithAggregate(v.AggregateID(), int64(v.AggregateVersion()))
		if rt.set.variant.SLAQueues == contracts.SLAQueuesPartitioned {
			// Every event of one aggregate hashes to the same partition.
			msg = msg.WithPartitionKey(v.AggregateID())
		}
	}
	return msg, messaging.To(r.Exchange, r.RoutingKey), nil
}

// checkPublished runs point p once per distinct (type, status) published:
// delays add up, the first error wins.
func (rt *Runtime) checkPublished(ctx context.Context, p anomaly.Point, pubs []published) error {
	seen := map[published]bool{}
	var act anomaly.Action
	for _, pb := range pubs {
		if seen[pb] {
			continue
		}
		seen[pb] = true
		a := rt.reg.Check(p, pb.msgType, pb.status)
		act.Delay += a.Delay
		if a.Released != nil {
			act.Released = a.Released
		}
		if act.Err == nil {
			act.Err = a.Err
		}
	}
	return act.Apply(ctx, rt.Clock())
}

// execState carries one handling's anomaly state from the Before hook
// through the handler to the AfterCommit hook (keyed by the delivery).
type execState struct {
	beforeErr error       // BeforeHandler error, returned inside the transaction
	prepared  any         // the Prepare step's result
	pubs      []published // what the handler published
}

// state returns the handling's state (a fresh one if the Before hook did
// not store any).
func (rt *Runtime) state(d *messaging.Delivery) *execState {
	if v, ok := rt.inflight.Load(d); ok {
		return v.(*execState)
	}
	st := &execState{}
	rt.inflight.Store(d, st)
	return st
}

// HandleOption tunes one message handler.
type HandleOption func(*handleConfig)

type handleConfig struct {
	ordered bool
	scope   string
	as      string
	prepare PrepareFunc
}

// PrepareFunc computes, outside the transaction, what a handler needs (see
// Prepare).
type PrepareFunc func(ctx context.Context, msg contracts.Message) (any, error)

// Prepare runs fn before the handling's transaction begins, right after the
// BeforeTransaction point and the BeforeHandler delay, and hands its result
// to the handler as Tx.Prepared. Use it for slow work without side effects
// (an HTTP call to a translation provider): inside the transaction it would
// hold the service's single SQLite writer, and every other write of the
// service would wait for it. An error fails the handling before any
// transaction (the retry path, like a handler error). fn runs for every
// delivery, duplicates included, since the inbox is checked inside the
// transaction; it is skipped when a BeforeHandler error anomaly will fail
// the handling anyway.
func Prepare(fn PrepareFunc) HandleOption {
	return func(c *handleConfig) { c.prepare = fn }
}

// Ordered puts the handler behind the messaging layer's per-aggregate
// ordering guard (use it only where the queue sees every version). Every
// Ticketflow aggregate's versions start at 1, so the guard holds back a later
// version that arrives before version 1 instead of starting there.
func Ordered(scope string) HandleOption {
	return func(c *handleConfig) { c.ordered, c.scope = true, scope }
}

// MatchAs makes consumer-side anomalies match name instead of the delivery's
// type, and ProducerErrorBeforeTransaction use name's execution outputs
// (Communication reads every alert as ProducerAgnosticAlertMessage).
func MatchAs(name string) HandleOption {
	return func(c *handleConfig) { c.as = name }
}

// Handle registers h for messages of msgType on queue. The runtime wraps it
// with the anomaly points of spec §8.2, relative to the transaction:
//
//	BeforeTransaction  before the transaction begins (outputs of the execution)
//	BeforeHandler delay (ConsumerDelayBeforeHandler), also before it begins
//	Prepare step (option Prepare), also before it begins
//	┌ tx: inbox dedup, ordering guard ─────────────────────────────────────┐
//	│ BeforeHandler error ─ h (OutboxSave, Publish per publish)             │
//	│ AfterHandler (delay, error) ─ WithinTransaction (per published type)  │
//	└ commit ──────────────────────────────────────────────────────────────┘
//	AfterTransaction   after the commit, before the ack (per published type)
//
// ConsumerDelayBeforeHandler sleeps before the transaction, not inside it as
// in the original: a service's SQLite store has one writer, so a sleep inside
// a transaction would stall every other handling of the service and the
// race experiments of spec §8.6 (a TranslationCompleted overtaking a delayed
// InquirySubmitted) could not happen. The delay still counts against the
// handler timeout. ConsumerDelayAfterHandler does sleep inside the
// transaction: holding it (and the ack) is its documented effect.
//
// Call before Run.
func (rt *Runtime) Handle(queue, msgType string, h Handler, opts ...HandleOption) {
	var hc handleConfig
	for _, o := range opts {
		o(&hc)
	}
	name := msgType
	if hc.as != "" {
		name = hc.as
	}
	outputs := contracts.Publishes(rt.svc.Name, name)
	decode := func(d *messaging.Delivery) (contracts.Message, error) {
		msg, err := contracts.Decode(d.Type, d.Body)
		if err != nil && msgType == messaging.AnyType && errors.Is(err, contracts.ErrUnknownType) {
			return nil, nil // a catch-all handler reads the body itself
		}
		return msg, err
	}
	wrapped := func(ctx context.Context, mtx *messaging.Tx, d *messaging.Delivery) error {
		msg, err := decode(d)
		if err != nil {
			return fmt.Errorf("%s %s: %w", d.Type, d.ID, err)
		}
		st := rt.state(d)
		// BeforeHandler: its delay already ran before the transaction (see
		// the Before hook); its error fails the handling here, inside it.
		if st.beforeErr != nil {
			return st.beforeErr
		}
		status := contracts.TicketStatusOf(msg)
		tx := &Tx{Tx: mtx, rt: rt, Delivery: d, prepared: st.prepared}
		if err := h(ctx, tx, msg); err != nil {
			return err
		}
		if err := rt.reg.Check(anomaly.AfterHandler, name, status).Apply(ctx, rt.Clock()); err != nil {
			return err
		}
		st.pubs = tx.publishedCopy()
		return rt.checkPublished(ctx, anomaly.WithinTransaction, st.pubs)
	}
	hooks := messaging.TxHooks{
		Before: func(ctx context.Context, d *messaging.Delivery) error {
			status := ""
			msg, decodeErr := decode(d)
			if decodeErr == nil {
				status = contracts.TicketStatusOf(msg)
			}
			if err := rt.reg.CheckAny(anomaly.BeforeTransaction, outputs, status).Apply(ctx, rt.Clock()); err != nil {
				return err
			}
			act := rt.reg.Check(anomaly.BeforeHandler, name, status)
			if err := (anomaly.Action{Delay: act.Delay, Released: act.Released}).Apply(ctx, rt.Clock()); err != nil {
				return err
			}
			st := &execState{beforeErr: act.Err}
			// An undecodable body fails inside the transaction, as before.
			if hc.prepare != nil && act.Err == nil && decodeErr == nil {
				v, err := hc.prepare(ctx, msg)
				if err != nil {
					return err
				}
				st.prepared = v
			}
			rt.inflight.Store(d, st)
			return nil
		},
		AfterCommit: func(ctx context.Context, d *messaging.Delivery) error {
			v, _ := rt.inflight.LoadAndDelete(d)
			st, _ := v.(*execState)
			if st == nil {
				return nil
			}
			return rt.checkPublished(ctx, anomaly.AfterTransaction, st.pubs)
		},
	}
	mopts := []messaging.HandleOption{messaging.AroundTx(hooks)}
	if hc.ordered {
		mopts = append(mopts, messaging.OrderedFrom(hc.scope, 1))
	}
	rt.mu.Lock()
	rt.handled[queue] = append(rt.handled[queue], msgType)
	rt.mu.Unlock()
	rt.Bus().Handle(queue, msgType, wrapped, mopts...)
}

// Exec runs a command (an HTTP command, a scheduler round: any execution
// that is not a message handling) as one transaction with the producer and
// outbox anomaly points:
//
//	BeforeTransaction (CheckAny over contracts.Publishes(service, command))
//	┌ tx: fn (OutboxSave, Publish per publish) ─ WithinTransaction ┐
//	└ commit ──────────────────────────────────────────────────────┘
//	AfterTransaction (per published type)
//
// status is the ticket status the command is about ("" when unknown). The
// command gets a span "command <name>" carrying lab.command and
// lab.tx.outcome; messages it publishes continue its trace. An error
// wrapping messaging.ErrLostAfterCommit means the writes committed but a
// direct publish (outbox off, direct-publish after-commit) failed.
func (rt *Runtime) Exec(ctx context.Context, command, status string, fn func(ctx context.Context, tx *Tx) error, opts ...ExecOption) error {
	ctx, span := rt.tracer.Start(ctx, "command "+command, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(otelamqp.LabService.String(rt.Config().Name), otelamqp.LabInstance.String(rt.Config().ID()),
			otelamqp.LabCommand.String(command)))
	defer span.End()
	err := rt.exec(ctx, span, command, status, fn, opts)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

func (rt *Runtime) exec(ctx context.Context, span trace.Span, command, status string, fn func(ctx context.Context, tx *Tx) error, opts []ExecOption) error {
	outputs := contracts.Publishes(rt.svc.Name, command)
	if err := rt.reg.CheckAny(anomaly.BeforeTransaction, outputs, status).Apply(ctx, rt.Clock()); err != nil {
		return err
	}
	var tx *Tx
	err := rt.Bus().InTx(ctx, func(ctx context.Context, mtx *messaging.Tx) error {
		tx = &Tx{Tx: mtx, rt: rt}
		for _, o := range opts {
			o(tx)
		}
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return rt.checkPublished(ctx, anomaly.WithinTransaction, tx.publishedCopy())
	})
	committed := err == nil || errors.Is(err, messaging.ErrLostAfterCommit)
	if committed {
		span.SetAttributes(otelamqp.LabTxOutcome.String(otelamqp.TxCommitted))
	} else {
		span.SetAttributes(otelamqp.LabTxOutcome.String(otelamqp.TxRolledBack))
	}
	if !committed {
		return err
	}
	var pubs []published
	if tx != nil {
		pubs = tx.publishedCopy()
	}
	return errors.Join(err, rt.checkPublished(ctx, anomaly.AfterTransaction, pubs))
}
