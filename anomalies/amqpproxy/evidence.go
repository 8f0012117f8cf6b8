package amqpproxy

import (
	"log/slog"
	"maps"
	"sync"
	"time"
)

// Event is the evidence of one applied fault.
type Event struct {
	// Seq numbers events from 1 in the order they were recorded.
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	Fault       Fault     `json:"fault"`
	Rule        string    `json:"rule"`
	MessageID   string    `json:"message_id,omitempty"`
	MessageType string    `json:"message_type,omitempty"`
	Exchange    string    `json:"exchange,omitempty"`
	RoutingKey  string    `json:"routing_key,omitempty"`
	// Conn numbers the proxied connections from 1; Channel is the AMQP
	// channel id.
	Conn    uint64 `json:"conn"`
	Channel uint16 `json:"channel"`
	// Detail says what exactly happened (delay, reply code, new order...).
	Detail string `json:"detail,omitempty"`
}

// Evidence is what the proxy did: counters per fault and the event list.
type Evidence struct {
	Counts map[Fault]int64 `json:"counts"`
	Events []Event         `json:"events"`
	// Dropped counts events beyond Config.MaxEvents: counted, not kept.
	Dropped int64 `json:"dropped_events,omitempty"`
	// AckTimers counts, per drop-ack rule id, the swallowed acks whose ack
	// timeout is still running: their fault is not over yet. It is state,
	// not evidence; ResetEvidence keeps it.
	AckTimers map[string]int64 `json:"ack_timers,omitempty"`
}

type recorder struct {
	log     *slog.Logger
	max     int
	onEvent func(Event)

	mu      sync.Mutex
	seq     int64
	counts  map[Fault]int64
	events  []Event
	dropped int64
	timers  map[string]int64
}

func (r *recorder) record(e Event) {
	r.mu.Lock()
	r.seq++
	e.Seq = r.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.counts[e.Fault]++
	if len(r.events) < r.max {
		r.events = append(r.events, e)
	} else {
		r.dropped++
	}
	r.mu.Unlock()
	r.log.Info("Fault applied", "fault", string(e.Fault), "rule", e.Rule, "msg_id", e.MessageID,
		"type", e.MessageType, "exchange", e.Exchange, "routing_key", e.RoutingKey,
		"conn", e.Conn, "channel", e.Channel, "detail", e.Detail)
	if r.onEvent != nil {
		r.onEvent(e)
	}
}

func (r *recorder) snapshot() Evidence {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := Evidence{Counts: maps.Clone(r.counts), Events: append([]Event(nil), r.events...), Dropped: r.dropped}
	if len(r.timers) > 0 {
		ev.AckTimers = maps.Clone(r.timers)
	}
	return ev
}

// ackTimer counts a running ack timer of rule up (delta 1) or down (-1).
func (r *recorder) ackTimer(rule string, delta int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timers == nil {
		r.timers = map[string]int64{}
	}
	r.timers[rule] += delta
	if r.timers[rule] == 0 {
		delete(r.timers, rule)
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = map[Fault]int64{}
	r.events = nil
	r.dropped = 0
}
