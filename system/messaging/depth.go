package messaging

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// QueueDepth is the number of ready messages of a queue.
type QueueDepth struct {
	Name  string
	Ready int
}

// QueueDepths asks the broker how many messages are ready in each queue (a
// passive declare on a channel of the producer connection). A queue the
// broker does not know is left out. It connects if needed, until ctx ends.
func (b *Bus) QueueDepths(ctx context.Context, queues []string) ([]QueueDepth, error) {
	var ch *amqp.Channel
	defer func() {
		if ch != nil {
			_ = ch.Close()
		}
	}()
	out := make([]QueueDepth, 0, len(queues))
	for _, q := range queues {
		if ch == nil {
			var err error
			if ch, err = b.pconn.Channel(ctx); err != nil {
				return out, fmt.Errorf("queue depths: %w", err)
			}
		}
		st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		var aerr *amqp.Error
		switch {
		case err == nil:
			out = append(out, QueueDepth{Name: q, Ready: st.Messages})
		case errors.As(err, &aerr) && aerr.Code == amqp.NotFound:
			ch = nil // the broker closed the channel
		default:
			return out, fmt.Errorf("queue depth of %s: %w", q, err)
		}
	}
	return out, nil
}
