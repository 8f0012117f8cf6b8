package invariants

import (
	"fmt"
	"slices"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// legal lists each status's legal successors (spec A.8): created may move
// to any other status, awaiting:payment to cancelled or complete; cancelled
// and complete are final (writing the same status again is no move).
var legal = map[common.OrderStatus][]common.OrderStatus{
	common.OrderCreated:         {common.OrderAwaitingPayment, common.OrderCancelled, common.OrderComplete},
	common.OrderAwaitingPayment: {common.OrderCancelled, common.OrderComplete},
}

// checkTerminalFinal (TS4): replaying orders' write log, every order starts
// created and moves only along legal transitions.
func checkTerminalFinal(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("orders")
	writes := writesOf(s, common.EntityOrder)
	if len(writes) == 0 {
		return finish(r, "no write log of orders")
	}
	type last struct {
		status  common.OrderStatus
		version int64
		cause   string
	}
	seen := map[string]last{}
	bad := map[string]bool{}
	for _, w := range writes {
		st := dataOf(w).Status
		prev, ok := seen[w.ID]
		seen[w.ID] = last{st, w.Version, w.Cause}
		if bad[w.ID] {
			continue
		}
		var detail string
		switch {
		case !ok && st != common.OrderCreated:
			detail = fmt.Sprintf("first written %s at version %d (%s)", st, w.Version, w.Cause)
		case !ok || st == prev.status:
			continue
		case !slices.Contains(legal[prev.status], st):
			detail = fmt.Sprintf("%s at version %d (%s), then %s at version %d (%s)", prev.status, prev.version, prev.cause, st, w.Version, w.Cause)
		default:
			continue
		}
		bad[w.ID] = true
		r.Violations = append(r.Violations, check.Violation{Category: check.Unexpected, Subject: "order " + w.ID, Effect: "status",
			Detail: "illegal transition: " + detail, TraceIDs: in.tracesOf(w.ID)})
	}
	r.Checked = len(seen)
	return finish(r, "no orders")
}
