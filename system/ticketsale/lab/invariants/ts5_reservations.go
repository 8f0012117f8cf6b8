package invariants

import (
	"fmt"

	"github.com/ticketflow-lab/tflab/scenarios/check"
)

// checkReservations (TS5): at quiescence each ticket master's orderId is
// the one active order orders has for it, or empty when it has none (a
// cancelled order's reservation is released). Several active orders are
// TS2's; such a ticket is not judged here.
func checkReservations(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("tickets")
	active := map[string][]string{}
	status := map[string]string{}
	for _, o := range s.Orders {
		status[o.ID] = fmt.Sprintf("%s at version %d", o.Status, o.Version)
		if o.Status.Active() {
			active[o.TicketID] = append(active[o.TicketID], o.ID)
		}
	}
	for _, t := range s.Tickets {
		ids := active[t.ID]
		if len(ids) > 1 {
			continue
		}
		r.Checked++
		var detail string
		switch {
		case len(ids) == 1 && t.OrderID != ids[0]:
			held := "free"
			if t.OrderID != "" {
				held = "held for order " + t.OrderID + " (" + orderState(status, t.OrderID) + ")"
			}
			detail = fmt.Sprintf("tickets has it %s at version %d, orders has order %s active (%s)", held, t.Version, ids[0], status[ids[0]])
		case len(ids) == 0 && t.OrderID != "":
			detail = fmt.Sprintf("tickets holds it for order %s (%s) at version %d, orders has no active order for it", t.OrderID, orderState(status, t.OrderID), t.Version)
		default:
			continue
		}
		cat, queue := in.heldOr(check.Diverged, append([]string{t.ID, t.OrderID}, ids...)...)
		if queue != "" {
			detail += "; queue " + queue + " still holds messages"
		}
		traces := in.tracesOf(t.ID)
		for _, o := range append([]string{t.OrderID}, ids...) {
			traces = appendNew(traces, in.tracesOf(o)...)
		}
		r.Violations = append(r.Violations, check.Violation{Category: cat, Subject: "ticket " + t.ID, Effect: "reservation",
			Detail: detail, TraceIDs: traces})
	}
	return finish(r, "no tickets")
}

func orderState(status map[string]string, id string) string {
	if s, ok := status[id]; ok {
		return s
	}
	return "unknown to orders"
}
