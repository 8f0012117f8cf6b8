package invariants

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
)

// checkExpiration (TS12): each order expires at most once — at most one
// expiration:complete message published for it and at most one of its
// expiration jobs done — and none is published earlier than its expiresAt
// minus Limits.SkewTolerance (span start, the lab's clock, against the
// expiresAt orders stamped).
func checkExpiration(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("orders")
	tol := in.Limits.skewTolerance()
	msgs := map[string][]string{}
	earliest := map[string]time.Time{}
	for i := range in.Events {
		e := &in.Events[i]
		if e.Kind != history.KindPublish || e.MessageType != common.SubjectExpirationComplete || !confirmed(e) {
			continue
		}
		if !slices.Contains(msgs[e.AggregateID], e.MessageID) {
			msgs[e.AggregateID] = append(msgs[e.AggregateID], e.MessageID)
		}
		if t, ok := earliest[e.AggregateID]; !ok || e.Start.Before(t) {
			earliest[e.AggregateID] = e.Start
		}
	}
	done := map[string]int{}
	for _, j := range s.Jobs {
		if j.State == snapshot.JobDone {
			done[j.OrderID]++
		}
	}
	for _, o := range s.Orders {
		r.Checked++
		var why []string
		if n := max(len(msgs[o.ID]), done[o.ID]); n > 1 {
			why = append(why, fmt.Sprintf("expired %d times (%d expiration:complete published, %d jobs done)", n, len(msgs[o.ID]), done[o.ID]))
		}
		cat := check.DuplicatedEffect
		if t, ok := earliest[o.ID]; ok && t.Before(o.ExpiresAt.Add(-tol)) {
			why = append(why, fmt.Sprintf("expired at %s, %s before its expiresAt %s (tolerance %s)",
				t.UTC().Format("15:04:05.000"), o.ExpiresAt.Sub(t).Round(time.Millisecond), o.ExpiresAt.UTC().Format("15:04:05.000"), tol))
			if len(why) == 1 {
				cat = check.Unexpected
			}
		}
		if len(why) == 0 {
			continue
		}
		r.Violations = append(r.Violations, check.Violation{Category: cat, Subject: "order " + o.ID, Effect: "expiration",
			Detail: strings.Join(why, "; "), MessageIDs: msgs[o.ID], TraceIDs: in.tracesOf(o.ID)})
	}
	return finish(r, "no orders")
}
