package messaging

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Exchange kinds.
const (
	Direct         = "direct"
	Topic          = "topic"
	Fanout         = "fanout"
	Headers        = "headers"
	ConsistentHash = "x-consistent-hash" // needs the rabbitmq_consistent_hash_exchange plugin
)

// Queue types.
const (
	Classic = "classic"
	Quorum  = "quorum"
)

// Exchange declares one exchange. Exchanges are durable unless Transient.
type Exchange struct {
	Name       string
	Kind       string
	Transient  bool
	AutoDelete bool
	Internal   bool
	Args       amqp.Table
}

// Queue declares one queue. Queues are durable unless Transient.
type Queue struct {
	Name       string
	Type       string // Classic (default) or Quorum
	Transient  bool
	AutoDelete bool
	Exclusive  bool
	Args       amqp.Table
}

// Binding binds Destination (a queue, or an exchange when ToExchange) to
// Source with Key.
type Binding struct {
	Source      string
	Destination string
	Key         string
	ToExchange  bool
	Args        amqp.Table
}

// Topology is a declarative set of exchanges, queues and bindings. Declaring
// it is idempotent: declaring the same topology twice is a no-op, declaring a
// conflicting one (same name, other arguments) fails with the broker's
// PRECONDITION_FAILED.
type Topology struct {
	Exchanges []Exchange
	Queues    []Queue
	Bindings  []Binding
}

// Merge returns t with the entities of others appended (duplicates by name,
// or by all fields for bindings, are kept once).
func (t Topology) Merge(others ...Topology) Topology {
	out := Topology{
		Exchanges: slices.Clone(t.Exchanges),
		Queues:    slices.Clone(t.Queues),
		Bindings:  slices.Clone(t.Bindings),
	}
	for _, o := range others {
		for _, e := range o.Exchanges {
			if !slices.ContainsFunc(out.Exchanges, func(x Exchange) bool { return x.Name == e.Name }) {
				out.Exchanges = append(out.Exchanges, e)
			}
		}
		for _, q := range o.Queues {
			if !slices.ContainsFunc(out.Queues, func(x Queue) bool { return x.Name == q.Name }) {
				out.Queues = append(out.Queues, q)
			}
		}
		for _, b := range o.Bindings {
			if !slices.ContainsFunc(out.Bindings, func(x Binding) bool {
				return x.Source == b.Source && x.Destination == b.Destination && x.Key == b.Key && x.ToExchange == b.ToExchange
			}) {
				out.Bindings = append(out.Bindings, b)
			}
		}
	}
	return out
}

// WithQueueType returns t with typ (Classic or Quorum) as the type of every
// queue that names none and can have it: durable, not exclusive, not
// auto-delete. An empty typ returns t unchanged.
func (t Topology) WithQueueType(typ string) Topology {
	if typ == "" {
		return t
	}
	out := t
	out.Queues = slices.Clone(t.Queues)
	for i, q := range out.Queues {
		if q.Type == "" && !q.Transient && !q.Exclusive && !q.AutoDelete {
			out.Queues[i].Type = typ
		}
	}
	return out
}

// Validate checks names, kinds and that every binding refers to a declared
// exchange or queue (or to a well-known one: the default exchange and amq.*).
func (t Topology) Validate() error {
	var errs []error
	exch := map[string]bool{"": true}
	for _, e := range t.Exchanges {
		switch {
		case e.Name == "":
			errs = append(errs, errors.New("exchange with empty name (the default exchange cannot be declared)"))
		case exch[e.Name]:
			errs = append(errs, fmt.Errorf("exchange %s declared twice", e.Name))
		}
		if !slices.Contains([]string{Direct, Topic, Fanout, Headers, ConsistentHash}, e.Kind) {
			errs = append(errs, fmt.Errorf("exchange %s: unknown kind %q", e.Name, e.Kind))
		}
		exch[e.Name] = true
	}
	queues := map[string]bool{}
	for _, q := range t.Queues {
		switch {
		case q.Name == "":
			errs = append(errs, errors.New("queue with empty name"))
		case queues[q.Name]:
			errs = append(errs, fmt.Errorf("queue %s declared twice", q.Name))
		}
		if q.Type != "" && q.Type != Classic && q.Type != Quorum {
			errs = append(errs, fmt.Errorf("queue %s: unknown type %q", q.Name, q.Type))
		}
		if q.Type == Quorum && (q.Transient || q.Exclusive || q.AutoDelete) {
			errs = append(errs, fmt.Errorf("queue %s: quorum queues must be durable, not exclusive, not auto-delete", q.Name))
		}
		queues[q.Name] = true
	}
	known := func(name string) bool { return exch[name] || len(name) > 4 && name[:4] == "amq." }
	for _, b := range t.Bindings {
		if b.Source == "" {
			errs = append(errs, fmt.Errorf("binding to %s: the default exchange cannot be bound", b.Destination))
		} else if !known(b.Source) {
			errs = append(errs, fmt.Errorf("binding %s -> %s: source exchange not declared", b.Source, b.Destination))
		}
		if b.ToExchange && !known(b.Destination) {
			errs = append(errs, fmt.Errorf("binding %s -> %s: destination exchange not declared", b.Source, b.Destination))
		}
		if !b.ToExchange && !queues[b.Destination] {
			errs = append(errs, fmt.Errorf("binding %s -> %s: destination queue not declared", b.Source, b.Destination))
		}
	}
	return errors.Join(errs...)
}

// Declare declares every exchange, then every queue, then every binding, on ch.
// A failure closes ch (AMQP semantics); the error names the entity.
func (t Topology) Declare(ch *amqp.Channel) error {
	_, _, err := t.declare(ch, nil)
	return err
}

// DeclareOn declares the topology as Declare does, on channels of conn,
// except that a queue the broker knows but whose node is down (a durable
// classic queue on a stopped or unreachable cluster node: 404 "home node …
// is down or inaccessible") is skipped, with the bindings to it, on a new
// channel: the queue and its bindings exist already, and a client that only
// publishes to it is not kept off every node while that node is away (its
// publishes are routed to the queue as before). A consumer of such a queue
// fails at basic.consume instead. It returns the skipped queues.
func (t Topology) DeclareOn(conn *amqp.Connection) ([]string, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel for topology: %w", err)
	}
	skipped, ch, err := t.declare(ch, func(old *amqp.Channel) (*amqp.Channel, error) {
		_ = old.Close()
		return conn.Channel()
	})
	if err != nil {
		return skipped, err
	}
	if err := ch.Close(); err != nil {
		return skipped, fmt.Errorf("close topology channel: %w", err)
	}
	return skipped, nil
}

// QueueNodeDown reports whether err is the broker's answer to a declaration
// or binding of a durable queue whose node is down or unreachable.
func QueueNodeDown(err error) bool {
	var aerr *amqp.Error
	return errors.As(err, &aerr) && aerr.Code == amqp.NotFound && strings.Contains(aerr.Reason, "is down or inaccessible")
}

// declare declares t on ch. With reopen, a queue whose node is down
// (QueueNodeDown) and the bindings to it are skipped, and reopen replaces
// the channel the error closed; without, every error is returned. It
// returns the skipped queues and the channel in use at the end.
func (t Topology) declare(ch *amqp.Channel, reopen func(*amqp.Channel) (*amqp.Channel, error)) ([]string, *amqp.Channel, error) {
	var skipped []string
	// skip reports whether err is a down queue's to skip; it reopens ch.
	skip := func(queue string, err error) (bool, error) {
		if reopen == nil || !QueueNodeDown(err) {
			return false, nil
		}
		if !slices.Contains(skipped, queue) {
			skipped = append(skipped, queue)
		}
		next, rerr := reopen(ch)
		if rerr != nil {
			return true, fmt.Errorf("reopen channel for topology after queue %s: %w", queue, rerr)
		}
		ch = next
		return true, nil
	}
	for _, e := range t.Exchanges {
		if err := ch.ExchangeDeclare(e.Name, e.Kind, !e.Transient, e.AutoDelete, e.Internal, false, e.Args); err != nil {
			return skipped, ch, fmt.Errorf("declare exchange %s (%s): %w", e.Name, e.Kind, err)
		}
	}
	for _, q := range t.Queues {
		args := amqp.Table{}
		for k, v := range q.Args {
			args[k] = v
		}
		if q.Type == Quorum {
			args["x-queue-type"] = Quorum
		}
		if _, err := ch.QueueDeclare(q.Name, !q.Transient, q.AutoDelete, q.Exclusive, false, args); err != nil {
			if ok, rerr := skip(q.Name, err); ok {
				if rerr != nil {
					return skipped, ch, rerr
				}
				continue
			}
			return skipped, ch, fmt.Errorf("declare queue %s: %w", q.Name, err)
		}
	}
	for _, b := range t.Bindings {
		if !b.ToExchange && slices.Contains(skipped, b.Destination) {
			continue
		}
		var err error
		if b.ToExchange {
			err = ch.ExchangeBind(b.Destination, b.Key, b.Source, false, b.Args)
		} else {
			err = ch.QueueBind(b.Destination, b.Key, b.Source, false, b.Args)
		}
		if err != nil {
			if b.ToExchange {
				return skipped, ch, fmt.Errorf("bind %s -> %s (key %q): %w", b.Source, b.Destination, b.Key, err)
			}
			if ok, rerr := skip(b.Destination, err); ok {
				if rerr != nil {
					return skipped, ch, rerr
				}
				continue
			}
			return skipped, ch, fmt.Errorf("bind %s -> %s (key %q): %w", b.Source, b.Destination, b.Key, err)
		}
	}
	return skipped, ch, nil
}

// RetryQueueName and DeadLetterQueueName name the companions of a consumed
// queue in the original Ticketflow style ("<queue>-dlq"), so the lab's queue
// names match the course material.
func RetryQueueName(queue string) string      { return queue + "-retry" }
func DeadLetterQueueName(queue string) string { return queue + "-dlq" }

// RetryTopology declares the retry and dead-letter companions of queue:
//
//	handler fails ──publish attempt+1──▶ <queue>-retry (x-message-ttl = delay)
//	                                        │ expires, dead-lettered via ""
//	                                        ▼
//	                                      <queue>
//	attempts exhausted ──publish────────▶ <queue>-dlq (kept for inspection)
//
// Copies are published through the default exchange, so no bindings are needed.
// The delay is a queue TTL, so every copy waits exactly delay (no head-of-line
// blocking as with per-message TTLs of different lengths).
func RetryTopology(queue string, delay time.Duration, quorum bool) Topology {
	typ := Classic
	if quorum {
		typ = Quorum
	}
	return Topology{Queues: []Queue{
		{Name: RetryQueueName(queue), Type: typ, Args: amqp.Table{
			"x-message-ttl":             delay.Milliseconds(),
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": queue,
		}},
		{Name: DeadLetterQueueName(queue), Type: typ},
	}}
}
