package messaging

import "sync/atomic"

// Stats are a bus's counters since start. Every fault the layer absorbs or
// suffers is counted here, so a run can prove its fault took effect.
type Stats struct {
	Published       atomic.Int64 // publish attempts that reached the socket (republishes included)
	Confirmed       atomic.Int64 // broker acks
	Nacked          atomic.Int64 // broker nacks (and confirms lost with their channel)
	ConfirmTimeouts atomic.Int64 // confirms not received within the timeout
	Republished     atomic.Int64 // publishes repeated after a nack, timeout or channel loss
	PublishFailed   atomic.Int64 // messages given up after every republish
	Returned        atomic.Int64 // unroutable mandatory messages returned by the broker
	LostAfterCommit atomic.Int64 // outbox off, after-commit: direct publishes after commit that failed (the message is lost)
	Ghosts          atomic.Int64 // outbox off, in-tx: messages published by transactions that then rolled back
	Reconnects      atomic.Int64 // connections re-established after a loss
	Delivered       atomic.Int64 // deliveries received
	Handled         atomic.Int64 // handler runs that committed
	Duplicates      atomic.Int64 // dedup skips
	UnknownType     atomic.Int64 // deliveries acked and dropped because no handler has their type
	Malformed       atomic.Int64 // deliveries that could not be decoded
	HandlerErrors   atomic.Int64 // handler runs that failed (rolled back)
	Retried         atomic.Int64 // copies sent to the retry queue
	DeadLettered    atomic.Int64 // copies sent to the dead-letter queue
	Requeued        atomic.Int64 // retries off: nack with requeue
	OrderApplied    atomic.Int64
	OrderStale      atomic.Int64
	OrderEarly      atomic.Int64
	RelayPublished  atomic.Int64 // outbox rows marked sent
	AckFailed       atomic.Int64 // acks that could not be sent (channel gone: the broker redelivers)
}

// Snapshot is a plain copy of Stats.
type Snapshot struct {
	Published, Confirmed, Nacked, ConfirmTimeouts, Republished, PublishFailed, Returned int64
	LostAfterCommit, Ghosts, Reconnects                                                 int64
	Delivered, Handled, Duplicates, UnknownType, Malformed, HandlerErrors               int64
	Retried, DeadLettered, Requeued                                                     int64
	OrderApplied, OrderStale, OrderEarly                                                int64
	RelayPublished, AckFailed                                                           int64
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{
		Published: s.Published.Load(), Confirmed: s.Confirmed.Load(), Nacked: s.Nacked.Load(),
		ConfirmTimeouts: s.ConfirmTimeouts.Load(), Republished: s.Republished.Load(),
		PublishFailed: s.PublishFailed.Load(), Returned: s.Returned.Load(),
		LostAfterCommit: s.LostAfterCommit.Load(), Ghosts: s.Ghosts.Load(), Reconnects: s.Reconnects.Load(),
		Delivered: s.Delivered.Load(), Handled: s.Handled.Load(), Duplicates: s.Duplicates.Load(),
		UnknownType: s.UnknownType.Load(), Malformed: s.Malformed.Load(), HandlerErrors: s.HandlerErrors.Load(),
		Retried: s.Retried.Load(), DeadLettered: s.DeadLettered.Load(), Requeued: s.Requeued.Load(),
		OrderApplied: s.OrderApplied.Load(), OrderStale: s.OrderStale.Load(), OrderEarly: s.OrderEarly.Load(),
		RelayPublished: s.RelayPublished.Load(), AckFailed: s.AckFailed.Load(),
	}
}
