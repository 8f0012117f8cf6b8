package invariants

import (
	"fmt"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
)

// checkCharges (TS11): at quiescence every gateway charge not refunded
// belongs to an order orders has complete, and no order keeps more than one
// such charge. A charge whose refund payments still owes is stuck, not
// lost; a charge of an order orders does not know is an orphan.
func checkCharges(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("orders")
	orders := map[string]Order{}
	for _, o := range s.Orders {
		orders[o.ID] = o
	}
	pending := map[string]bool{}
	for _, f := range s.PaymentRefunds {
		if f.State == snapshot.RefundPending {
			pending[f.StripeID] = true
		}
	}
	recorded := map[string]bool{}
	for _, p := range s.Payments {
		recorded[p.StripeID] = true
	}
	kept := map[string][]Charge{}
	var ids []string
	for _, c := range s.Charges {
		if _, ok := kept[c.OrderID]; !ok {
			ids = append(ids, c.OrderID)
			kept[c.OrderID] = nil
		}
		if !c.Refunded {
			kept[c.OrderID] = append(kept[c.OrderID], c)
		}
	}
	for _, id := range ids {
		r.Checked++
		cs := kept[id]
		if len(cs) == 0 {
			continue
		}
		o, known := orders[id]
		var v *check.Violation
		switch {
		case !known:
			v = &check.Violation{Category: check.Unexpected, Effect: "orphan charge",
				Detail: fmt.Sprintf("%s of an order orders does not know", describeCharges(cs, recorded))}
		case o.Status != common.OrderComplete:
			v = &check.Violation{Category: check.Unexpected, Effect: "charge",
				Detail: fmt.Sprintf("%s, order %s at version %d", describeCharges(cs, recorded), o.Status, o.Version)}
		case len(cs) > 1:
			v = &check.Violation{Category: check.DuplicatedEffect, Effect: "charge",
				Detail: fmt.Sprintf("charged %d times: %s", len(cs), describeCharges(cs, recorded))}
		}
		if v == nil {
			continue
		}
		for _, c := range cs {
			if pending[c.ID] {
				v.Category = check.Stuck
				v.Detail += "; payments still owes the refund of " + c.ID
				break
			}
		}
		v.Subject, v.TraceIDs = "order "+id, in.tracesOf(id)
		r.Violations = append(r.Violations, *v)
	}
	return finish(r, "no charges")
}

// describeCharges renders charges: "charge ch_1 (timed out, no payment
// record) not refunded".
func describeCharges(cs []Charge, recorded map[string]bool) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		var notes []string
		if c.TimedOut {
			notes = append(notes, "answered 504 though charged")
		}
		if !recorded[c.ID] {
			notes = append(notes, "no payment records it")
		}
		parts[i] = "charge " + c.ID
		if len(notes) > 0 {
			parts[i] += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	return strings.Join(parts, ", ") + " not refunded"
}
