package invariants

import (
	"fmt"
	"slices"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// CauseTicketUpdate is the write-log cause of a seller's edit (tickets'
// PUT route).
const CauseTicketUpdate = "PUT /api/tickets/:id"

// checkReservedNotEditable (TS6): replaying tickets' write log, no edit
// (CauseTicketUpdate) is written while an order holds the ticket: neither
// while tickets itself has an orderId on it, nor after tickets applied the
// reservation of an order that orders never cancelled and still has active
// (its reservation was cleared by another order's cancellation, L4).
func checkReservedNotEditable(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("edits")
	writes := writesOf(s, common.EntityTicket)
	if len(writes) == 0 {
		return finish(r, "no write log of tickets")
	}
	holds := stillHolding(s)
	type state struct {
		orderID  string
		reserved []string // orders whose reservation tickets applied, in order
	}
	tickets := map[string]*state{}
	reported := map[string]bool{}
	for _, w := range writes {
		st := tickets[w.ID]
		if st == nil {
			st = &state{}
			tickets[w.ID] = st
		}
		d := dataOf(w)
		if w.Cause == CauseTicketUpdate {
			r.Checked++
			var holder string
			switch {
			case st.orderID != "":
				holder = fmt.Sprintf("tickets had it reserved for order %s", st.orderID)
			default:
				for _, o := range st.reserved {
					if holds[o] != "" {
						holder = fmt.Sprintf("order %s held it (tickets applied its reservation, then lost it; orders has it %s and never cancelled it)", o, holds[o])
						break
					}
				}
			}
			if holder != "" && !reported[w.ID] {
				reported[w.ID] = true
				r.Violations = append(r.Violations, check.Violation{Category: check.Unexpected, Subject: "ticket " + w.ID, Effect: "edit",
					Detail: fmt.Sprintf("edit accepted at version %d (price %g) while %s", w.Version, d.Price, holder), TraceIDs: in.tracesOf(w.ID)})
			}
		}
		if d.OrderID != "" && !slices.Contains(st.reserved, d.OrderID) {
			st.reserved = append(st.reserved, d.OrderID)
		}
		st.orderID = d.OrderID
	}
	return finish(r, "no edits")
}

// stillHolding maps each order that is active at the end and was never
// written cancelled to its status: it held its ticket from its creation on.
func stillHolding(s *Snapshot) map[string]string {
	cancelled := map[string]bool{}
	for _, w := range writesOf(s, common.EntityOrder) {
		if dataOf(w).Status == common.OrderCancelled {
			cancelled[w.ID] = true
		}
	}
	out := map[string]string{}
	for _, o := range s.Orders {
		if o.Status.Active() && !cancelled[o.ID] {
			out[o.ID] = string(o.Status)
		}
	}
	return out
}
