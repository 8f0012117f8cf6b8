package tsapp

import (
	"context"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
)

// HeaderAckWaitExpired marks a copy sent back because its handling
// outlived ackWait.
const HeaderAckWaitExpired = "ack-wait-expired"

// started is the Before hook of every listener: it starts the delivery's
// ackWait timer, then waits the configured handler delay (a slow consumer).
//
// NATS Streaming redelivers a message that is not acked within ackWait,
// possibly to another member of the queue group while the first handler
// still runs. RabbitMQ does not, so when the timer fires before the
// delivery is settled, expire sends a copy (same message id) through the
// queue's retry companion, which returns it after another ackWait. A failed
// handling takes the messaging layer's retry path with the same delay.
func (rt *Runtime) started(queue string) func(ctx context.Context, d *messaging.Delivery) error {
	return func(ctx context.Context, d *messaging.Delivery) error {
		rt.inflight.Store(d, time.AfterFunc(rt.set.AckWait, func() { rt.expire(queue, d) }))
		if rt.set.HandlerDelay > 0 {
			return clock.Sleep(ctx, rt.Clock(), rt.set.HandlerDelay)
		}
		return nil
	}
}

// settled is the BeforeAck hook: the delivery is about to be settled, so
// its ackWait timer stops.
func (rt *Runtime) settled(_ context.Context, d *messaging.Delivery) {
	if t, ok := rt.inflight.LoadAndDelete(d); ok {
		t.(*time.Timer).Stop()
	}
}

// expire sends the copy of a delivery still in flight after ackWait.
func (rt *Runtime) expire(queue string, d *messaging.Delivery) {
	if _, ok := rt.inflight.Load(d); !ok {
		return
	}
	rt.expired.Add(1)
	m := d.Message
	h := make(map[string]string, len(m.Headers)+1)
	for k, v := range m.Headers {
		h[k] = v
	}
	h[HeaderAckWaitExpired] = "true"
	m.Headers = h
	route := messaging.ToQueue(messaging.RetryQueueName(queue))
	if !rt.Bus().Protections().Retries {
		route = messaging.ToQueue(queue)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Bus().Publisher().Publish(ctx, route, m); err != nil {
		rt.Log().Warn("AckWait copy not sent", "queue", queue, "msg_id", d.ID, "err", err)
		return
	}
	rt.Log().Info("Handling outlived ackWait; message delivered again", "queue", queue, "msg_id", d.ID, "type", d.Type)
}
