package invariants

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// checkSoldTwice (TS1): per ticket at most one order is complete and at
// most one gateway charge of its orders is not refunded. A charge whose
// order orders does not know is TS11's.
func checkSoldTwice(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("tickets")
	ticketOf := map[string]string{}
	complete := map[string][]string{}
	for _, o := range s.Orders {
		ticketOf[o.ID] = o.TicketID
		if o.Status == common.OrderComplete {
			complete[o.TicketID] = append(complete[o.TicketID], o.ID)
		}
	}
	charged := map[string][]string{}
	for _, c := range s.Charges {
		if t := ticketOf[c.OrderID]; t != "" && !c.Refunded {
			charged[t] = append(charged[t], fmt.Sprintf("%s of order %s", c.ID, c.OrderID))
		}
	}
	for _, t := range ticketIDs(s) {
		r.Checked++
		var why []string
		if n := len(complete[t]); n > 1 {
			why = append(why, fmt.Sprintf("%d orders complete (%s)", n, strings.Join(complete[t], ", ")))
		}
		if n := len(charged[t]); n > 1 {
			why = append(why, fmt.Sprintf("%d charges not refunded (%s)", n, strings.Join(charged[t], ", ")))
		}
		if len(why) == 0 {
			continue
		}
		var traces []string
		for _, o := range complete[t] {
			traces = appendNew(traces, in.tracesOf(o)...)
		}
		prefix := "sold twice: "
		if len(complete[t]) <= 1 {
			prefix = "paid twice: "
		}
		r.Violations = append(r.Violations, check.Violation{Category: check.DuplicatedEffect, Subject: "ticket " + t,
			Effect: "sale", Detail: prefix + strings.Join(why, "; "), TraceIDs: traces})
	}
	return finish(r, "no tickets")
}

// ticketIDs lists the tickets of the masters, then those only orders name,
// in first-seen order.
func ticketIDs(s *Snapshot) []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, t := range s.Tickets {
		add(t.ID)
	}
	for _, o := range s.Orders {
		add(o.TicketID)
	}
	return out
}

// appendNew appends the values of vs not yet in out.
func appendNew(out []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
