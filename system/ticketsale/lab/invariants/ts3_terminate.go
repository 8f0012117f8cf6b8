package invariants

import (
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
)

// checkOrdersTerminate (TS3): every order whose expiresAt plus grace lies
// before the snapshot is cancelled or complete. An open order is stuck when
// the broker still holds a message of it, possibly stuck when a queue held
// messages nobody read, else lost; the detail says how far its expiration
// got (job, expiration:complete published, handled by orders).
func checkOrdersTerminate(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("orders")
	grace := in.Limits.grace()
	notDue := 0
	for _, o := range s.Orders {
		if o.Status == common.OrderCancelled || o.Status == common.OrderComplete {
			r.Checked++
			continue
		}
		if in.At.Before(o.ExpiresAt.Add(grace)) {
			notDue++
			continue
		}
		r.Checked++
		cat, queue := in.held(o.ID)
		detail := fmt.Sprintf("still %s at version %d, expired %s, judged %s after (grace %s); %s",
			o.Status, o.Version, o.ExpiresAt.UTC().Format(time.RFC3339), in.At.Sub(o.ExpiresAt).Round(time.Millisecond), grace, expirationTrail(in, o.ID))
		if queue != "" {
			detail += "; queue " + queue + " still holds messages"
		}
		r.Violations = append(r.Violations, check.Violation{Category: cat, Subject: "order " + o.ID, Effect: "terminal state",
			Detail: detail, TraceIDs: in.tracesOf(o.ID)})
	}
	if notDue > 0 {
		r.Reason = fmt.Sprintf("%d orders not yet past expiresAt + %s", notDue, grace)
	}
	return finish(r, "no order was due")
}

// expirationTrail says how far order id's expiration got.
func expirationTrail(in Input, id string) string {
	jobs, done := 0, 0
	for _, j := range in.Snapshot.Jobs {
		if j.OrderID == id {
			jobs++
			if j.State == snapshot.JobDone {
				done++
			}
		}
	}
	published, handled := false, false
	for i := range in.Events {
		e := &in.Events[i]
		if e.AggregateID != id || e.MessageType != common.SubjectExpirationComplete {
			continue
		}
		switch {
		case e.Kind == history.KindPublish && confirmed(e):
			published = true
		case e.Kind == history.KindProcess && e.Service == common.ServiceOrders && e.Outcome == history.OutcomeAcked:
			handled = true
		}
	}
	switch {
	case jobs == 0:
		return "expiration never scheduled a job for it"
	case done == 0:
		return fmt.Sprintf("its expiration job is still waiting (%d jobs)", jobs)
	case !published:
		return "its expiration job is done but no expiration:complete was published"
	case !handled:
		return "expiration:complete was published but orders never handled it"
	}
	return "orders handled its expiration:complete and left it open"
}

// confirmed reports whether a publish span reached the broker: no error
// and no negative or missing confirm.
func confirmed(e *history.Event) bool {
	return e.BusinessPublish() && e.Error == "" && e.Confirm != history.ConfirmNack && e.Confirm != history.ConfirmTimeout
}
