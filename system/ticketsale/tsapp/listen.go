package tsapp

import (
	"context"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Apply is a replica's handling of one event E: it reads and writes through
// q with the instance's toggles at now, and returns the events to publish.
type Apply[E any] func(ctx context.Context, q store.Querier, tg common.Toggles, ev E, now time.Time) ([]common.Event, error)

// ListenTo registers fn for subject (Listen): each delivery is decoded into
// E, fn runs in the handling's transaction with the toggles and the clock's
// now, and the events it returns are published in that transaction
// (PublishAll). A body that does not decode fails the handling.
func ListenTo[E any](rt *Runtime, subject string, fn Apply[E]) {
	rt.Listen(subject, func(ctx context.Context, tx *messaging.Tx, d *messaging.Delivery) error {
		var ev E
		if err := d.Decode(&ev); err != nil {
			return err
		}
		out, err := fn(ctx, tx.Tx, rt.Toggles(), ev, rt.Clock().Now())
		if err != nil {
			return err
		}
		return rt.PublishAll(ctx, tx, out)
	})
}

// Silent is an Apply for a handling that publishes nothing.
func Silent[E any](fn func(ctx context.Context, q store.Querier, tg common.Toggles, ev E, now time.Time) error) Apply[E] {
	return func(ctx context.Context, q store.Querier, tg common.Toggles, ev E, now time.Time) ([]common.Event, error) {
		return nil, fn(ctx, q, tg, ev, now)
	}
}
