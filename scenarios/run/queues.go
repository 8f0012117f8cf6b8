package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/messaging"
)

// queueState is one queue at one instant: Ready from a passive declare (the
// broker's live count), Unacked from the management API (its statistics,
// up to a few seconds old).
type queueState struct {
	Name           string
	Ready, Unacked int
}

// queueProbe reads the depth of the service queues: every queue but the
// dead-letter queues (dead letters legitimately stay there).
type queueProbe struct {
	amqpURL string
	m       *anomalies.Management
	sinks   []string // the system's inspection queues
	// peek bounds the ready messages readHoldings reads from a queue
	// (0: none; reading requeues them, marked redelivered).
	peek int
	// unacked is how long readHoldings watches the queues while one shows
	// unacked deliveries (see unackedWindow; holdingsWindow when shorter).
	unacked time.Duration
}

// pending lists the service queues that hold messages now.
func (q queueProbe) pending(ctx context.Context) ([]queueState, error) {
	if q.m == nil {
		return nil, errors.New("the broker has no management API to list queues")
	}
	qs, err := q.m.Queues(ctx)
	if err != nil {
		return nil, err
	}
	dlq := deadLetterQueues(qs, q.sinks)
	unacked := map[string]int{}
	var names []string
	for _, x := range qs {
		if dlq[x.Name] || (x.VHost != "" && x.VHost != vhostOf(q.amqpURL)) {
			continue
		}
		names = append(names, x.Name)
		unacked[x.Name] = x.Unacked
	}
	ready, err := readyCounts(ctx, q.amqpURL, names)
	if err != nil {
		return nil, err
	}
	var out []queueState
	for _, n := range names {
		if ready[n] > 0 || unacked[n] > 0 {
			out = append(out, queueState{Name: n, Ready: ready[n], Unacked: unacked[n]})
		}
	}
	return out, nil
}

func describeQueues(qs []queueState) string {
	var parts []string
	for _, q := range qs {
		parts = append(parts, fmt.Sprintf("%s holds %d ready, %d unacked", q.Name, q.Ready, q.Unacked))
	}
	return strings.Join(parts, "; ")
}

func vhostOf(amqpURL string) string {
	u, err := amqp.ParseURI(amqpURL)
	if err != nil || u.Vhost == "" {
		return "/"
	}
	return u.Vhost
}

// readyCounts declares each queue passively on one connection straight to
// the broker and returns its ready-message count. A queue that vanished
// meanwhile (an auto-expiring sync queue) is skipped.
func readyCounts(ctx context.Context, amqpURL string, names []string) (map[string]int, error) {
	if len(names) == 0 {
		return map[string]int{}, nil
	}
	dl, ok := ctx.Deadline()
	timeout := 5 * time.Second
	if ok {
		timeout = min(timeout, max(time.Until(dl), 100*time.Millisecond))
	}
	conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(timeout),
		Properties: amqp.Table{"connection_name": RunnerConnection}})
	if err != nil {
		return nil, fmt.Errorf("runner connection to the broker: %w", err)
	}
	defer conn.Close()
	out := map[string]int{}
	var ch *amqp.Channel
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ch == nil || ch.IsClosed() {
			if ch, err = conn.Channel(); err != nil {
				return nil, fmt.Errorf("runner channel: %w", err)
			}
		}
		q, err := ch.QueueDeclarePassive(n, false, false, false, false, nil)
		if err != nil {
			var aerr *amqp.Error
			if errors.As(err, &aerr) && aerr.Code == amqp.NotFound {
				continue
			}
			return nil, fmt.Errorf("passive declare %s: %w", n, err)
		}
		out[n] = q.Messages
	}
	return out, nil
}

// deadLetterRaw is one message peeked from a dead-letter queue; the service
// is filled in later from the spans (who consumed the original queue).
type deadLetterRaw struct {
	origin string // the queue the message failed in
	dl     history.DeadLetter
}

// peekDeadLetters reads every message of every dead-letter queue without
// removing it.
func peekDeadLetters(ctx context.Context, m *anomalies.Management) ([]deadLetterRaw, error) {
	if m == nil {
		return nil, errors.New("the broker has no management API to read dead-letter queues")
	}
	qs, err := m.Queues(ctx)
	if err != nil {
		return nil, err
	}
	origins := dlqOrigins(qs)
	var out []deadLetterRaw
	var errs []error
	for _, dlq := range slices.Sorted(maps.Keys(origins)) {
		var vhost string
		for _, q := range qs {
			if q.Name == dlq {
				vhost = q.VHost
			}
		}
		msgs, err := m.PeekMessages(ctx, vhost, dlq, 100000)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", dlq, err))
			continue
		}
		for _, msg := range msgs {
			d := history.DeadLetter{Queue: dlq, MessageID: msg.Properties.MessageID, MessageType: msg.Properties.Type, Count: 1}
			if s, ok := msg.Properties.Headers[messaging.HeaderLastError].(string); ok {
				d.Reason = s
			}
			if msg.Properties.Timestamp > 0 {
				d.At = time.Unix(msg.Properties.Timestamp, 0)
			}
			out = append(out, deadLetterRaw{origin: origins[dlq], dl: d})
		}
	}
	return out, errors.Join(errs...)
}

// attributeDeadLetters names the service of each dead letter: the service
// whose handlings consumed the queue the message failed in.
func attributeDeadLetters(raw []deadLetterRaw, events []history.Event) []history.DeadLetter {
	consumer := map[string]string{}
	for i := range events {
		e := &events[i]
		if e.Kind == history.KindProcess && e.Destination != "" && e.Service != "" {
			consumer[e.Destination] = e.Service
		}
	}
	out := make([]history.DeadLetter, 0, len(raw))
	for _, r := range raw {
		d := r.dl
		d.Service = consumer[r.origin]
		out = append(out, d)
	}
	return out
}

// holdingsPeek bounds the ready messages read from one queue for the
// holdings; the rest are counted as not read.
const holdingsPeek = 500

// holdingsWindow is how long the holdings watch a queue that holds
// messages: a queue counts what it held throughout (the least seen), so a
// metric tick in flight at one instant is not "held at the end".
const holdingsWindow = 2 * time.Second

// unackedWindow is how long the holdings watch the queues while one shows
// unacked deliveries. The unacked counts come from the management API,
// which showed a delivery acked on a three-node lab (classic and quorum
// queues alike, collect_statistics_interval 1 s) for 4.8 to 5.1 s after its
// ack: within holdingsWindow a delivery acked a moment before collection
// was still "held". The window outlasts one such period, so an acked
// delivery drops out, and one still unacked stays held.
const unackedWindow = 7 * time.Second

// leastHeld polls the service queues every `every` until window ends (or
// unacked, while a queue shows unacked deliveries), or at once when none
// holds anything, and returns per queue the least ready and unacked counts
// seen (queues that were empty at some poll are absent).
func (q queueProbe) leastHeld(ctx context.Context, every, window, unacked time.Duration) (map[string]queueState, error) {
	start := time.Now()
	deadline, unackedDeadline := start.Add(window), start.Add(max(window, unacked))
	tick := time.NewTicker(every)
	defer tick.Stop()
	var least map[string]queueState
	for {
		p, err := q.pending(ctx)
		if err != nil {
			return nil, err
		}
		cur := map[string]queueState{}
		for _, s := range p {
			cur[s.Name] = s
		}
		if least == nil {
			least = cur
		}
		for n, l := range least {
			c := cur[n]
			l.Ready, l.Unacked = min(l.Ready, c.Ready), min(l.Unacked, c.Unacked)
			if l.Ready == 0 && l.Unacked == 0 {
				delete(least, n)
				continue
			}
			least[n] = l
		}
		now := time.Now()
		if len(least) == 0 || !now.Before(unackedDeadline) || (!now.Before(deadline) && !anyUnacked(least)) {
			return least, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// anyUnacked reports whether a queue in least holds unacked deliveries.
func anyUnacked(least map[string]queueState) bool {
	for _, l := range least {
		if l.Unacked > 0 {
			return true
		}
	}
	return false
}

// readHoldings records what the broker still holds for the system's queues
// (every queue of the lab's vhost but the dead-letter queues, whose depth
// goes to the queue they serve): ready (a passive declare, live) and
// unacked (the management API's statistics), each the least seen over
// holdingsWindow (q.unacked while a queue shows unacked deliveries)
// polled every `every`; consumers with their prefetch; since
// when each queue has had unacked deliveries (since, from the watcher); the
// connections the broker blocks; and up to q.peek ready messages per queue,
// read without consuming them. services names the lab's services, to
// name each consumer's. What could not be read is in Holdings.Error.
func (q queueProbe) readHoldings(ctx context.Context, every time.Duration, services []string, since map[string]time.Time) *history.Holdings {
	hd := &history.Holdings{At: time.Now()}
	if q.m == nil {
		hd.Error = "the broker has no management API"
		return hd
	}
	least, err := q.leastHeld(ctx, every, holdingsWindow, q.unacked)
	hd.At = time.Now()
	if err != nil {
		hd.Error = fmt.Sprintf("queue depths: %v", err)
		return hd
	}
	qs, err := q.m.Queues(ctx)
	if err != nil {
		hd.Error = fmt.Sprintf("list queues: %v", err)
		return hd
	}
	var errs []error
	client := map[string]string{} // broker connection name → connection_name
	conns, err := q.m.Connections(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("list connections: %w", err))
	}
	for _, c := range conns {
		client[c.Name] = c.ClientName()
		if c.Blocked() {
			hd.Blocked = append(hd.Blocked, cmp.Or(c.ClientName(), c.Name))
		}
	}
	slices.Sort(hd.Blocked)
	consumers, err := q.m.Consumers(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("list consumers: %w", err))
	}
	dlq := deadLetterQueues(qs, q.sinks)
	depth := map[string]int{}
	var names []string
	vhost := vhostOf(q.amqpURL)
	for _, x := range qs {
		if x.VHost != "" && x.VHost != vhost {
			continue
		}
		depth[x.Name] = x.Messages
		if !dlq[x.Name] {
			names = append(names, x.Name)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		l := least[n]
		h := history.QueueHolding{Queue: n, Ready: l.Ready, Unacked: l.Unacked, DeadLettered: depth[messaging.DeadLetterQueueName(n)]}
		if h.Unacked > 0 {
			h.UnackedSince = since[n]
		}
		for _, c := range consumers {
			if c.Queue.Name != n {
				continue
			}
			name := client[c.Channel.ConnectionName]
			h.Consumers = append(h.Consumers, history.Consumer{Service: serviceOf(name, services), Connection: name, Prefetch: c.Prefetch})
		}
		if h.Ready > 0 && q.peek > 0 {
			msgs, perr := q.m.PeekMessages(ctx, vhost, n, q.peek)
			if perr != nil {
				errs = append(errs, fmt.Errorf("read %s: %w", n, perr))
			}
			for _, m := range msgs {
				aggr, _ := m.Properties.Headers[messaging.HeaderAggregateID].(string)
				h.Messages = append(h.Messages, history.HeldMessage{MessageID: m.Properties.MessageID, Type: m.Properties.Type,
					CorrelationID: m.Properties.CorrelationID, AggregateID: aggr, Redelivered: m.Redelivered})
			}
			h.NotRead = max(h.Ready-len(h.Messages), 0)
		}
		hd.Queues = append(hd.Queues, h)
	}
	if err := errors.Join(errs...); err != nil {
		hd.Error = err.Error()
	}
	return hd
}

// ReadHoldings records what the broker holds now for the system's queues,
// as a run's collection does (each count the least seen over
// holdingsWindow, not longer while a queue shows unacked deliveries: a live
// system has them all the time), for a judgement of a live lab such as the console's invariant
// board: inspection names the system's inspection queues, services the
// lab's services. It reads no message (a read requeues it marked
// redelivered, which a live system would see), so a finding can only be
// possibly stuck where a queue holds messages.
func ReadHoldings(ctx context.Context, m *anomalies.Management, amqpURL string, inspection, services []string) *history.Holdings {
	return queueProbe{amqpURL: amqpURL, m: m, sinks: inspection}.readHoldings(ctx, liveHoldingsEvery, services, nil)
}

// liveHoldingsEvery paces ReadHoldings' polls.
const liveHoldingsEvery = 250 * time.Millisecond

// serviceOf names the service of a connection_name ("sla-sla-consumer" is
// sla's): the lab's messaging layer starts each with its service's name.
func serviceOf(connection string, services []string) string {
	for _, s := range services {
		if connection == s || strings.HasPrefix(connection, s+"-") {
			return s
		}
	}
	return ""
}
