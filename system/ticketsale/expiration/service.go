package expiration

import (
	"context"
	"log/slog"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

var _ service.Main = Main

// SettingPoll is how often the worker looks for due jobs (default 250ms).
const SettingPoll = "expiration-poll"

// Spec is the expiration service's runtime spec.
var Spec = tsapp.Spec{Service: common.ServiceExpiration, Messaging: true, Migrations: []store.Migrations{Migrations}}

// Main runs the expiration service: the order:created listener that
// schedules jobs and the worker that runs them.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	return tsapp.Main(ctx, cfg, log, Spec, Wire)
}

// Wire registers the listener and the worker on rt.
func Wire(rt *tsapp.Runtime) error {
	poll, err := runtime.PositiveDuration(rt.Config().Settings, SettingPoll, 250*time.Millisecond)
	if err != nil {
		return err
	}
	rt.Listen(common.SubjectOrderCreated, func(ctx context.Context, tx *messaging.Tx, d *messaging.Delivery) error {
		var ev common.OrderCreatedEvent
		if err := d.Decode(&ev); err != nil {
			return err
		}
		now := rt.Clock().Now()
		added, err := Schedule(ctx, tx.Tx, rt.Toggles(), ev, now)
		if err == nil && added {
			rt.Log().Debug("Expiration scheduled", "order", ev.ID, "expires_at", ev.ExpiresAt)
		}
		return err
	})
	rt.Go("worker", func(ctx context.Context) error { return work(ctx, rt, poll) })
	return nil
}

// work runs due jobs every poll. Each job is marked done and its
// expiration:complete published in one transaction: through the outbox
// (fixed), or right after the commit and lost if that publish fails
// (faithful Outbox: the course's processor did not await the publish, L9).
func work(ctx context.Context, rt *tsapp.Runtime, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		jobs, err := Due(ctx, rt.DB(), rt.Clock().Now(), 100)
		if err != nil {
			rt.Log().Warn("Due jobs unreadable", "err", err)
			continue
		}
		for _, j := range jobs {
			err := rt.InTx(ctx, func(ctx context.Context, tx *messaging.Tx) error {
				evs, err := Complete(ctx, tx.Tx, j, rt.Clock().Now())
				if err != nil {
					return err
				}
				return rt.PublishAll(ctx, tx, evs)
			})
			if err != nil && ctx.Err() == nil {
				rt.Log().Warn("Expiration job failed", "job", j.ID, "order", j.OrderID, "err", err)
			}
		}
	}
}
