package invariants

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// checkOneActiveOrder (TS2): replaying orders' write log, no write ever
// leaves two orders of one ticket active (created, awaiting:payment or
// complete). Without a write log the final state is judged.
func checkOneActiveOrder(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("tickets")
	writes := writesOf(s, common.EntityOrder)
	if len(writes) == 0 {
		active := map[string][]string{}
		for _, o := range s.Orders {
			if o.Status.Active() {
				active[o.TicketID] = append(active[o.TicketID], o.ID)
			}
		}
		for _, t := range ticketIDs(s) {
			r.Checked++
			if ids := active[t]; len(ids) > 1 {
				r.Violations = append(r.Violations, twoActive(in, t, fmt.Sprintf("orders %s are active at the end", strings.Join(ids, ", ")), ids))
			}
		}
		if len(s.Orders) > 0 {
			r.Reason = "judged on the final state only: no write log"
		}
		return finish(r, "no tickets")
	}
	type state struct {
		ticket string
		status common.OrderStatus
	}
	orders := map[string]state{}
	tickets := map[string]bool{}
	reported := map[string]bool{}
	for _, w := range writes {
		d := dataOf(w)
		st := orders[w.ID]
		if d.Ticket.ID != "" {
			st.ticket = d.Ticket.ID
		}
		st.status = d.Status
		orders[w.ID] = st
		tickets[st.ticket] = true
		if !st.status.Active() || reported[st.ticket] {
			continue
		}
		var others []string
		for id, o := range orders {
			if id != w.ID && o.ticket == st.ticket && o.status.Active() {
				others = append(others, fmt.Sprintf("%s (%s)", id, o.status))
			}
		}
		if len(others) == 0 {
			continue
		}
		slices.Sort(others)
		reported[st.ticket] = true
		r.Violations = append(r.Violations, twoActive(in, st.ticket,
			fmt.Sprintf("order %s became %s at version %d (%s) while %s held it", w.ID, st.status, w.Version, w.Cause, strings.Join(others, ", ")),
			[]string{w.ID}))
	}
	r.Checked = len(tickets)
	return finish(r, "no orders")
}

func twoActive(in Input, ticket, detail string, orders []string) check.Violation {
	var traces []string
	for _, o := range orders {
		traces = appendNew(traces, in.tracesOf(o)...)
	}
	return check.Violation{Category: check.DuplicatedEffect, Subject: "ticket " + ticket, Effect: "reservation",
		Detail: "two active orders: " + detail, TraceIDs: traces}
}
