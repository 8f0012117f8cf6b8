package history

import "time"

// Holdings is what the broker still held for the system's queues when the
// runner collected the run (after the settle, before the lab stopped): where
// every message that was never consumed is at the end. A nil Snapshot.Holdings
// means nothing was recorded (a run saved before holdings existed, or a
// broker without a management API).
type Holdings struct {
	At time.Time `json:"at"`
	// Queues lists every queue of the system except the dead-letter queues;
	// each carries the count of its dead-letter queue.
	Queues []QueueHolding `json:"queues"`
	// Blocked names the client connections the broker blocked (a resource
	// alarm) when the holdings were read.
	Blocked []string `json:"blockedConnections,omitempty"`
	// Error says what could not be read; the rest is what was.
	Error string `json:"error,omitempty"`
}

// QueueHolding is one queue at the end of the run.
type QueueHolding struct {
	Queue   string `json:"queue"`
	Ready   int    `json:"ready"`
	Unacked int    `json:"unacked"`
	// DeadLettered is the depth of the queue's dead-letter queue.
	DeadLettered int `json:"deadLettered,omitempty"`
	// UnackedSince is when the broker watcher first saw the queue with
	// unacked deliveries without a poll in between showing none; zero when
	// unknown.
	UnackedSince time.Time  `json:"unackedSince,omitzero"`
	Consumers    []Consumer `json:"consumers,omitempty"`
	// Messages are the ready messages read without consuming them (the
	// management API's get with requeue), up to the runner's bound.
	Messages []HeldMessage `json:"messages,omitempty"`
	// NotRead is how many ready messages were not read (beyond the bound,
	// or the read failed).
	NotRead int `json:"notRead,omitempty"`
}

// Held reports whether the queue holds any message, ready or unacked.
func (q QueueHolding) Held() bool { return q.Ready > 0 || q.Unacked > 0 }

// Consumer is one consumer of a queue as the broker lists it.
type Consumer struct {
	Service    string `json:"service,omitempty"` // the lab service whose connection it is
	Connection string `json:"connection"`        // the connection_name the client announced
	Prefetch   int    `json:"prefetch"`          // 0: unlimited
}

// HeldMessage is one ready message a queue still held.
type HeldMessage struct {
	MessageID     string `json:"messageId"`
	Type          string `json:"type,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	AggregateID   string `json:"aggregateId,omitempty"`
	Redelivered   bool   `json:"redelivered,omitempty"`
}
