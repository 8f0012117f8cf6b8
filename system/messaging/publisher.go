package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// Route is where a message is published: an exchange and a routing key.
// The default exchange ("") routes to the queue named by the key.
type Route struct {
	Exchange string
	Key      string
}

// To is a route through an exchange.
func To(exchange, key string) Route { return Route{Exchange: exchange, Key: key} }

// ToQueue is a route straight to a queue through the default exchange.
func ToQueue(queue string) Route { return Route{Key: queue} }

// PublisherConfig tunes publishing.
type PublisherConfig struct {
	// ConfirmTimeout is how long to wait for a broker confirm before the
	// publish is considered lost and repeated (on a fresh connection). Default 5 s.
	ConfirmTimeout time.Duration
	// MaxRepublish bounds the republishes of one message after a nack, a
	// timeout or a lost channel. Default 10.
	MaxRepublish int
	// Backoff paces republishes.
	Backoff Backoff
	// NotMandatory turns mandatory publishing off. By default every publish is
	// mandatory and a returned (unroutable) message is logged and counted.
	NotMandatory bool
}

func (c *PublisherConfig) setDefaults() {
	if c.ConfirmTimeout == 0 {
		c.ConfirmTimeout = 5 * time.Second
	}
	if c.MaxRepublish == 0 {
		c.MaxRepublish = 10
	}
	c.Backoff.setDefaults()
}

// Validate reports what is wrong with the config.
func (c PublisherConfig) Validate() error {
	var errs []error
	if c.ConfirmTimeout < 0 {
		errs = append(errs, errors.New("confirm timeout must not be negative"))
	}
	if c.MaxRepublish < 0 {
		errs = append(errs, errors.New("max republish must not be negative"))
	}
	return errors.Join(append(errs, c.Backoff.Validate())...)
}

// ErrNotConfirmed means the broker never acknowledged a message after every
// republish; it may or may not have been routed.
var ErrNotConfirmed = errors.New("publish not confirmed by the broker")

// Publisher publishes messages on one channel of its own connection. With
// confirms on, each message is confirmed within ConfirmTimeout or republished
// with the same message_id (the source of real duplicates, absorbed by the
// consumer's dedup). With confirms off it is fire-and-forget. It is safe for
// concurrent use.
type Publisher struct {
	conn     *Conn
	cfg      PublisherConfig
	confirms bool
	tracer   trace.Tracer
	attrs    []attribute.KeyValue
	stats    *Stats
	log      *slog.Logger
	rnd      *lockedRand

	// opening serializes opening the channel; it honours ctx, because
	// opening may wait for a reconnect as long as the link is down.
	opening chan struct{}
	mu      sync.Mutex // guards ch
	ch      *amqp.Channel
}

// outgoing is one message to publish, with the context its span continues.
type outgoing struct {
	ctx   context.Context
	route Route
	msg   Message
	extra amqp.Table // transport headers (attempt, last error)
	via   string     // "outbox" | "direct" | "retry" | "dead-letter"
}

// Publish publishes m to r and, with confirms on, waits for the broker's
// confirm (republishing as needed). ctx carries the parent span.
func (p *Publisher) Publish(ctx context.Context, r Route, m Message) error {
	return p.publish(ctx, []outgoing{{ctx: ctx, route: r, msg: m, via: otelamqp.ViaDirect}})[0]
}

// channel returns the publisher's channel, opening one (in confirm mode when
// confirms are on) if there is none or it closed.
func (p *Publisher) channel(ctx context.Context) (*amqp.Channel, error) {
	if ch := p.current(); ch != nil {
		return ch, nil
	}
	select {
	case p.opening <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.opening }()
	if ch := p.current(); ch != nil {
		return ch, nil
	}
	ch, err := p.conn.Channel(ctx)
	if err != nil {
		return nil, err
	}
	if p.confirms {
		if err := ch.Confirm(false); err != nil {
			_ = ch.Close()
			return nil, fmt.Errorf("confirm mode: %w", err)
		}
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 64))
	go p.logReturns(returns) // ends when the channel closes
	p.mu.Lock()
	p.ch = ch
	p.mu.Unlock()
	return ch, nil
}

// current is the open channel, or nil.
func (p *Publisher) current() *amqp.Channel {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil && !p.ch.IsClosed() {
		return p.ch
	}
	return nil
}

func (p *Publisher) logReturns(returns <-chan amqp.Return) {
	for r := range returns {
		p.stats.Returned.Add(1)
		p.log.Warn("Message returned unroutable", "msg_id", r.MessageId, "type", r.Type,
			"exchange", r.Exchange, "routing_key", r.RoutingKey, "reply_code", r.ReplyCode, "reply_text", r.ReplyText)
	}
}

// drop forgets ch (if still current) and resets the link: a missing confirm
// usually means a dead link that would otherwise only be noticed at the next
// heartbeat timeout.
func (p *Publisher) drop(ch *amqp.Channel) {
	p.mu.Lock()
	current := p.ch == ch
	if current {
		p.ch = nil
	}
	p.mu.Unlock()
	if current {
		p.conn.Reset()
	}
}

// closeChannel forgets ch if it is the current channel and closes it (not
// the connection); the next publish opens a new one.
func (p *Publisher) closeChannel(ch *amqp.Channel) {
	p.mu.Lock()
	if p.ch == ch {
		p.ch = nil
	}
	p.mu.Unlock()
	_ = ch.Close()
}

// close closes the channel (not the connection).
func (p *Publisher) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil {
		_ = p.ch.Close()
		p.ch = nil
	}
}

// publish sends items in order, pipelining confirms, and returns one error
// per item. Unconfirmed items are republished (same message_id, same
// publishing) up to MaxRepublish times.
func (p *Publisher) publish(ctx context.Context, items []outgoing) []error {
	n := len(items)
	errs := make([]error, n)
	spans := make([]trace.Span, n)
	pubs := make([]amqp.Publishing, n)
	outcome := make([]string, n)
	republished := make([]int, n)
	mandatory := !p.cfg.NotMandatory
	for i, it := range items {
		if err := it.msg.Validate(); err != nil {
			errs[i] = fmt.Errorf("publish: %w", err)
			continue
		}
		parent := it.ctx
		if parent == nil {
			parent = ctx
		}
		attrs := append(publishAttrs(it.route, it.msg, len(p.attrs)+1), p.attrs...)
		attrs = append(attrs, otelamqp.LabPublishVia.String(it.via))
		sctx, span := p.tracer.Start(parent, "publish "+destName(it.route.Exchange),
			trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
		spans[i] = span
		h := amqp.Table{}
		for k, v := range it.extra {
			h[k] = v
		}
		pubs[i] = it.msg.Publishing(otelamqp.Inject(sctx, h))
	}
	var pending []int
	for i := range items {
		if errs[i] == nil {
			pending = append(pending, i)
		}
	}
	for round := 0; len(pending) > 0; round++ {
		if round > 0 {
			if round > p.cfg.MaxRepublish {
				for _, i := range pending {
					errs[i] = fmt.Errorf("%w after %d republishes: %w", ErrNotConfirmed, p.cfg.MaxRepublish, errs[i])
					p.stats.PublishFailed.Add(1)
				}
				break
			}
			if err := sleepCtx(ctx, p.rnd.delay(p.cfg.Backoff, round-1)); err != nil {
				for _, i := range pending {
					errs[i] = err
				}
				break
			}
			for _, i := range pending {
				republished[i]++
				p.stats.Republished.Add(1)
				spans[i].AddEvent("republish", trace.WithAttributes(otelamqp.LabRepublish.Int(republished[i])))
			}
		}
		ch, err := p.channel(ctx)
		if err != nil {
			for _, i := range pending {
				errs[i] = fmt.Errorf("publish channel: %w", err)
			}
			if ctx.Err() != nil || !p.confirms {
				break
			}
			continue
		}
		dcs := make([]*amqp.DeferredConfirmation, len(pending))
		var retry []int
		sendFailed := false
		for j, i := range pending {
			it := items[i]
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, it.route.Exchange, it.route.Key, mandatory, false, pubs[i])
			if err != nil {
				errs[i] = fmt.Errorf("publish %s: %w", it.msg.ID, err)
				retry = append(retry, i)
				sendFailed = true
				continue
			}
			p.stats.Published.Add(1)
			dcs[j] = dc
			if !p.confirms {
				errs[i] = nil
				outcome[i] = otelamqp.ConfirmOff
			}
		}
		if sendFailed {
			p.drop(ch)
		}
		if !p.confirms {
			// Fire-and-forget: a failed send is reported, never repeated.
			break
		}
		timer := time.NewTimer(p.cfg.ConfirmTimeout)
		timedOut, nacked := false, false
		for j, i := range pending {
			dc := dcs[j]
			if dc == nil {
				continue
			}
			if timedOut {
				select {
				case <-dc.Done():
				default:
					p.stats.ConfirmTimeouts.Add(1)
					errs[i], outcome[i] = errors.New("confirm timeout"), otelamqp.ConfirmTimeout
					retry = append(retry, i)
					continue
				}
			}
			select {
			case <-dc.Done():
				if dc.Acked() {
					p.stats.Confirmed.Add(1)
					errs[i], outcome[i] = nil, otelamqp.ConfirmAck
				} else {
					p.stats.Nacked.Add(1)
					errs[i], outcome[i] = errors.New("nacked (or channel closed before the confirm)"), otelamqp.ConfirmNack
					retry = append(retry, i)
					nacked = true
				}
			case <-timer.C:
				timedOut = true
				p.stats.ConfirmTimeouts.Add(1)
				errs[i], outcome[i] = errors.New("confirm timeout"), otelamqp.ConfirmTimeout
				retry = append(retry, i)
			case <-ctx.Done():
				errs[i] = ctx.Err()
			}
		}
		timer.Stop()
		if timedOut {
			p.log.Warn("Publisher confirms timed out, resetting the link", "unconfirmed", len(retry))
			p.drop(ch)
		} else if nacked {
			// The republish goes out on a new channel: a channel opened on
			// a surviving node while a quorum queue's leader was being
			// elected went on nacking every publish to that queue (40 s,
			// until the old leader's node was back; RabbitMQ 3.10), where a
			// new channel finds the new leader.
			p.log.Warn("Publisher confirms nacked, opening a new channel", "nacked", len(retry))
			p.closeChannel(ch)
		}
		if ctx.Err() != nil {
			for _, i := range retry {
				errs[i] = ctx.Err()
			}
			break
		}
		pending = retry
	}
	for i, span := range spans {
		if span == nil {
			continue
		}
		span.SetAttributes(otelamqp.LabConfirmOutcome.String(outcome[i]), otelamqp.LabRepublish.Int(republished[i]))
		if errs[i] != nil {
			span.RecordError(errs[i])
			span.SetStatus(codes.Error, errs[i].Error())
		}
		span.End()
	}
	return errs
}

func destName(exchange string) string {
	if exchange == "" {
		return "(default)"
	}
	return exchange
}

// publishAttrs builds the start attributes of a publish span, with room for
// extra more.
func publishAttrs(r Route, m Message, extra int) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 13+extra)
	a = append(a,
		otelamqp.MessagingSystem.String(otelamqp.MessagingSystemRabbitMQValue),
		otelamqp.MessagingOperationType.String("publish"),
		otelamqp.MessagingOperationName.String("publish"),
		otelamqp.MessagingDestinationName.String(r.Exchange),
		otelamqp.MessagingRoutingKey.String(r.Key),
		otelamqp.MessagingMessageID.String(m.ID),
		otelamqp.MessagingBodySize.Int(len(m.Body)),
		otelamqp.LabMessageType.String(m.Type),
	)
	if m.CorrelationID != "" {
		a = append(a, otelamqp.MessagingConversationID.String(m.CorrelationID))
	}
	if m.AggregateID != "" {
		a = append(a, otelamqp.LabAggregateID.String(m.AggregateID), otelamqp.LabAggregateVer.Int64(m.AggregateVersion))
	}
	if m.CausationID != "" {
		a = append(a, otelamqp.LabCausationID.String(m.CausationID))
	}
	return a
}
