package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// Handler handles one delivery inside tx. Returning an error rolls tx back
// (the inbox row and the outbox rows with it) and sends the message to the
// retry path. The handler must do all its writes through tx.
type Handler func(ctx context.Context, tx *Tx, d *Delivery) error

// Delivery is a received message with its transport facts.
type Delivery struct {
	Message
	Transport
	// Queue is the queue it was consumed from.
	Queue string
	// Redelivered is the broker's redelivered flag.
	Redelivered bool
}

// Outcome values of the lab.outcome span attribute on handling spans.
const (
	OutcomeAcked        = otelamqp.OutcomeAcked        // handled, or skipped as duplicate/stale, and acked
	OutcomeRetried      = otelamqp.OutcomeRetried      // sent to the retry queue, original acked
	OutcomeDeadLettered = otelamqp.OutcomeDeadLettered // sent to the dead-letter queue, original acked
	OutcomeUnknownType  = otelamqp.OutcomeUnknownType  // no handler for its type: acked and dropped
	OutcomeRequeued     = otelamqp.OutcomeRequeued     // retries off: nacked with requeue
	OutcomeFailed       = otelamqp.OutcomeFailed       // could not even be retried: nacked with requeue
)

type handler struct {
	fn      Handler
	ordered bool
	scope   string
	first   int64 // OrderedFrom: the first version of every aggregate (0: unknown)
	around  TxHooks
}

// TxHooks run around one handler's store transaction: the in-app anomaly
// points of Ticketflow (spec §8.2) that sit outside the transaction. Nil
// fields do nothing. Both run on the handling's context (its span is current).
type TxHooks struct {
	// Before runs after dispatch and before the transaction begins (so before
	// the inbox insert). An error fails the handling like a handler error,
	// with nothing written: the delivery takes the retry path.
	Before func(ctx context.Context, d *Delivery) error
	// AfterCommit runs after the transaction committed (and, outbox off and
	// after-commit, after the direct publishes), before the span ends and the delivery is
	// settled. It is not called for duplicates or stale versions. An error
	// sends the delivery down the retry path although its effects are
	// durable: the redelivery then meets the inbox (a dedup skip) or, with
	// dedup off, runs the handler again.
	AfterCommit func(ctx context.Context, d *Delivery) error
}

// AroundTx installs hooks around the handler's transaction.
func AroundTx(h TxHooks) HandleOption {
	return func(hd *handler) { hd.around = h }
}

type settle int

const (
	settleAck settle = iota
	settleRequeue
)

type consumer struct {
	bus      *Bus
	queue    string
	cfg      ConsumerConfig
	handlers map[string]*handler
}

func newConsumer(b *Bus, queue string) *consumer {
	c := &consumer{bus: b, queue: queue, handlers: map[string]*handler{}}
	c.setConfig(ConsumerConfig{})
	return c
}

func (c *consumer) setConfig(cc ConsumerConfig) {
	if cc.Prefetch <= 0 {
		cc.Prefetch = 10
	}
	if cc.Concurrency <= 0 {
		cc.Concurrency = cc.Prefetch
	}
	c.cfg = cc
}

func (c *consumer) add(msgType string, h *handler) {
	if _, dup := c.handlers[msgType]; dup {
		panic(fmt.Sprintf("messaging: handler for %s on %s registered twice", msgType, c.queue))
	}
	c.handlers[msgType] = h
}

// run consumes until ctx ends, re-establishing the channel (and through the
// Conn the connection, with backoff) whenever it is lost.
func (c *consumer) run(ctx context.Context, ready func()) {
	failures := 0
	log := c.bus.log.With("queue", c.queue)
	for ctx.Err() == nil {
		started, err := c.session(ctx, ready)
		if ctx.Err() != nil {
			return
		}
		if started {
			failures = 0
		}
		d := c.bus.pconn.rnd.delay(c.bus.cfg.Reconnect, failures)
		failures++
		log.Warn("Consumer session ended, resuming", "err", err, "backoff", d)
		if sleepCtx(ctx, d) != nil {
			return
		}
	}
}

// session consumes on one channel until it closes or ctx ends; it reports
// whether consuming started.
func (c *consumer) session(ctx context.Context, ready func()) (bool, error) {
	ch, err := c.bus.cconn.Channel(ctx)
	if err != nil {
		return false, err
	}
	defer ch.Close()
	if err := ch.Qos(c.cfg.Prefetch, 0, false); err != nil {
		return false, fmt.Errorf("qos: %w", err)
	}
	tag := fmt.Sprintf("%s-%s-%s", c.bus.cfg.Service, c.bus.cfg.Instance, NewID()[:8])
	deliveries, err := ch.Consume(c.queue, tag, false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume %s: %w", c.queue, err)
	}
	ready()
	// Handlings run on a context that outlives ctx: shutdown lets in-flight
	// work finish and settle.
	hctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range c.cfg.Concurrency {
		wg.Go(func() {
			for raw := range deliveries {
				c.handle(hctx, raw)
			}
		})
	}
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-ctx.Done():
		// Stop new deliveries; what is already buffered is handled, the rest
		// is requeued by the broker when the channel closes.
		if err := ch.Cancel(tag, false); err != nil {
			c.bus.log.Debug("Cancel consumer", "queue", c.queue, "err", err)
		}
		<-stopped
		return true, ctx.Err()
	case <-stopped:
		return true, errors.New("delivery channel closed (connection or channel lost)")
	}
}

// handle runs the whole pipeline for one delivery. The handling span ends
// BEFORE the delivery is settled: a span exporter that writes synchronously
// has the span on disk before the broker sees the ack.
func (c *consumer) handle(ctx context.Context, raw amqp.Delivery) {
	b := c.bus
	b.stats.Delivered.Add(1)
	m, tr, derr := DecodeDelivery(raw)
	d := &Delivery{Message: m, Transport: tr, Queue: c.queue, Redelivered: raw.Redelivered}
	attrs := append(consumeAttrs(c.queue, raw, d, len(b.attrs)), b.attrs...)
	sctx, span := b.tracer.Start(otelamqp.Extract(ctx, raw.Headers), "process "+c.queue,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	s, outcome := c.process(sctx, span, raw, d, derr)
	span.SetAttributes(otelamqp.LabOutcome.String(outcome))
	span.End()
	if b.hooks.BeforeAck != nil {
		b.hooks.BeforeAck(ctx, d)
	}
	var err error
	switch s {
	case settleAck:
		err = raw.Ack(false)
	case settleRequeue:
		err = raw.Nack(false, true)
	}
	if err != nil {
		b.stats.AckFailed.Add(1)
		b.log.Warn("Settle failed; the broker will redeliver", "queue", c.queue, "msg_id", d.ID, "err", err)
	}
}

func (c *consumer) process(ctx context.Context, span trace.Span, raw amqp.Delivery, d *Delivery, derr error) (settle, string) {
	b := c.bus
	if derr != nil {
		b.stats.Malformed.Add(1)
		span.RecordError(derr)
		span.SetStatus(codes.Error, derr.Error())
		return c.fail(ctx, span, raw, d, derr, true)
	}
	h, ok := c.handlers[d.Type]
	if !ok {
		h, ok = c.handlers[AnyType]
	}
	if !ok {
		b.stats.UnknownType.Add(1)
		b.log.Warn("Unknown message type acked and dropped", "queue", c.queue, "type", d.Type, "msg_id", d.ID)
		return settleAck, OutcomeUnknownType
	}
	dedup := otelamqp.DedupOff
	order := OrderOff
	var last int64
	var tx *Tx
	hctx, cancel := context.WithTimeout(ctx, b.cfg.HandlerTimeout)
	defer cancel()
	if h.around.Before != nil {
		if err := h.around.Before(hctx, d); err != nil {
			b.stats.HandlerErrors.Add(1)
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			return c.fail(ctx, span, raw, d, err, false)
		}
	}
	err := b.db.InTx(hctx, func(ctx context.Context, stx *store.Tx) error {
		tx = &Tx{Tx: stx, bus: b, in: d}
		if b.prot.Dedup {
			fresh, err := inboxInsert(ctx, stx, c.queue, d.Message)
			if err != nil {
				return err
			}
			if !fresh {
				dedup = otelamqp.DedupDuplicate
				return recordDuplicate(ctx, stx, c.queue, d.Message, d.Redelivered, span.SpanContext().TraceID().String())
			}
			dedup = otelamqp.DedupProcessed
		}
		if b.prot.Ordering && h.ordered && d.AggregateVersion > 0 {
			out, l, err := guardOrder(ctx, stx, h.scope, h.first, d.Message)
			if err != nil {
				return err
			}
			order, last = out, l
			switch out {
			case OrderStale:
				return nil
			case OrderEarly:
				return errEarly
			}
		}
		return h.fn(ctx, tx, d)
	})
	txOutcome := otelamqp.TxCommitted
	if err != nil {
		txOutcome = otelamqp.TxRolledBack
	}
	span.SetAttributes(otelamqp.LabDedupOutcome.String(dedup), otelamqp.LabOrderOutcome.String(string(order)),
		otelamqp.LabTxOutcome.String(txOutcome))
	if tx != nil && len(tx.effects) > 0 {
		span.SetAttributes(otelamqp.LabEffectKeys.StringSlice(tx.effects))
	}
	if err != nil {
		if errors.Is(err, errEarly) {
			b.stats.OrderEarly.Add(1)
			// The handling rolled back; the decision is recorded on its own.
			if rerr := b.db.InTx(hctx, func(ctx context.Context, stx *store.Tx) error {
				return recordOrder(ctx, stx, h.scope, d.Message, last, OrderEarly)
			}); rerr != nil {
				b.log.Warn("Recording an early version failed", "msg_id", d.ID, "err", rerr)
			}
			return c.fail(ctx, span, raw, d, fmt.Errorf("%w: version %d of %s, last applied %d", errEarly, d.AggregateVersion, d.AggregateID, last), false)
		}
		b.stats.HandlerErrors.Add(1)
		b.rolledBack(hctx, tx, err)
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return c.fail(ctx, span, raw, d, err, false)
	}
	switch {
	case dedup == otelamqp.DedupDuplicate:
		b.stats.Duplicates.Add(1)
		b.log.Info("Duplicate skipped", "queue", c.queue, "msg_id", d.ID, "type", d.Type, "redelivered", d.Redelivered)
		return settleAck, OutcomeAcked
	case order == OrderStale:
		b.stats.OrderStale.Add(1)
		return settleAck, OutcomeAcked
	case order == OrderApplied:
		b.stats.OrderApplied.Add(1)
	}
	b.stats.Handled.Add(1)
	if err := b.afterCommit(ctx, tx); err != nil {
		// Outbox off, after-commit: the effects are committed, the messages are lost. The
		// delivery is still acked: handling it again cannot bring them back
		// without redoing the effects.
		span.AddEvent("publish after commit failed", trace.WithAttributes(attribute.String("error", err.Error())))
	}
	if h.around.AfterCommit != nil {
		if err := h.around.AfterCommit(hctx, d); err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			return c.fail(ctx, span, raw, d, err, false)
		}
	}
	return settleAck, OutcomeAcked
}

// fail routes a failed handling: retries off → nack with requeue (the
// original's endless immediate redelivery); retries on → a copy with
// attempt+1 to the retry queue, or to the dead-letter queue once MaxAttempts
// handlings failed (malformed messages go there at once).
func (c *consumer) fail(ctx context.Context, span trace.Span, raw amqp.Delivery, d *Delivery, cause error, malformed bool) (settle, string) {
	b := c.bus
	if !b.prot.Retries {
		b.stats.Requeued.Add(1)
		return settleRequeue, OutcomeRequeued
	}
	m := d.Message
	if malformed {
		m = sanitize(raw)
	}
	errText := cause.Error()
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	route, via, attempt := ToQueue(RetryQueueName(c.queue)), otelamqp.ViaRetry, d.Attempt+1
	if malformed || d.Attempt >= b.cfg.Retry.MaxAttempts {
		route, via, attempt = ToQueue(DeadLetterQueueName(c.queue)), otelamqp.ViaDeadLetter, d.Attempt
	}
	pctx, cancel := context.WithTimeout(ctx, b.cfg.Publisher.ConfirmTimeout*time.Duration(1+min(b.cfg.Publisher.MaxRepublish, 3)))
	defer cancel()
	extra := amqp.Table{HeaderAttempt: int32(attempt), HeaderLastError: errText, HeaderOriginalQueue: c.queue}
	if err := b.pub.publish(pctx, []outgoing{{ctx: ctx, route: route, msg: m, extra: extra, via: via}})[0]; err != nil {
		b.log.Error("Could not move a failed message; requeueing it", "queue", c.queue, "msg_id", d.ID, "to", route.Key, "err", err)
		span.AddEvent("retry publish failed", trace.WithAttributes(attribute.String("error", err.Error())))
		return settleRequeue, OutcomeFailed
	}
	if via == otelamqp.ViaRetry {
		b.stats.Retried.Add(1)
		return settleAck, OutcomeRetried
	}
	b.stats.DeadLettered.Add(1)
	b.log.Warn("Message dead-lettered", "queue", c.queue, "msg_id", d.ID, "type", d.Type, "attempt", d.Attempt, "err", errText)
	if b.hooks.DeadLettered != nil {
		b.hooks.DeadLettered(ctx, c.queue, d, cause)
	}
	return settleAck, OutcomeDeadLettered
}

// sanitize turns an undecodable delivery into a publishable message for the
// dead-letter queue, keeping what can be kept.
func sanitize(raw amqp.Delivery) Message {
	m := Message{ID: raw.MessageId, Type: raw.Type, CorrelationID: raw.CorrelationId, Body: raw.Body, Timestamp: raw.Timestamp}
	if m.ID == "" {
		m.ID = NewID()
	}
	if m.Type == "" {
		m.Type = "(none)"
	}
	for k, v := range raw.Headers {
		if s, ok := v.(string); ok && !reserved[k] && !strings.HasPrefix(k, "trace") {
			if m.Headers == nil {
				m.Headers = map[string]string{}
			}
			m.Headers["original-"+k] = s
		}
	}
	return m
}

// consumeAttrs builds the start attributes of a handling span, with room for
// extra more (one allocation per span instead of several).
func consumeAttrs(queue string, raw amqp.Delivery, d *Delivery, extra int) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 16+extra)
	a = append(a,
		otelamqp.MessagingSystem.String(otelamqp.MessagingSystemRabbitMQValue),
		otelamqp.MessagingOperationType.String("process"),
		otelamqp.MessagingOperationName.String("process"),
		otelamqp.MessagingDestinationName.String(queue),
		otelamqp.MessagingRoutingKey.String(raw.RoutingKey),
		otelamqp.MessagingMessageID.String(d.ID),
		otelamqp.MessagingBodySize.Int(len(raw.Body)),
		otelamqp.MessagingDeliveryTag.Int64(int64(raw.DeliveryTag)),
		otelamqp.LabMessageType.String(d.Type),
		otelamqp.LabRedelivered.Bool(raw.Redelivered),
		otelamqp.LabAttempt.Int(d.Attempt),
	)
	if d.CorrelationID != "" {
		a = append(a, otelamqp.MessagingConversationID.String(d.CorrelationID))
	}
	if d.AggregateID != "" {
		a = append(a, otelamqp.LabAggregateID.String(d.AggregateID), otelamqp.LabAggregateVer.Int64(d.AggregateVersion))
	}
	if d.CausationID != "" {
		a = append(a, otelamqp.LabCausationID.String(d.CausationID))
	}
	return a
}
