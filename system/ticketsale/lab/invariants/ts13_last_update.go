package invariants

import (
	"fmt"
	"strconv"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

// checkLastUpdate (TS13, the course's experiment): at quiescence every
// orders store holds each ticket at the price of the last edit the
// workload saw accepted (records of KindTicketUpdate with Attrs["price"]),
// or at the master's price for a ticket the workload did not edit.
func checkLastUpdate(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("ticket replicas")
	want := map[string]float64{}
	from := map[string]string{}
	for _, t := range s.Tickets {
		want[t.ID], from[t.ID] = t.Price, fmt.Sprintf("owner at version %d", t.Version)
	}
	last := map[string]history.Record{}
	for _, rec := range in.Records {
		if rec.Kind != workload.KindTicketUpdate || !rec.Accepted {
			continue
		}
		if prev, ok := last[rec.ID]; !ok || !rec.At.Before(prev.At) {
			last[rec.ID] = rec
		}
	}
	for id, rec := range last {
		p, err := strconv.ParseFloat(rec.Attrs["price"], 64)
		if err != nil {
			continue
		}
		want[id], from[id] = p, "last accepted edit"
	}
	replicas := map[[2]string]TicketReplica{}
	for _, t := range s.TicketReplicas {
		replicas[[2]string{t.Store, t.ID}] = t
	}
	storeList := stores(s.TicketReplicas, func(t TicketReplica) string { return t.Store }, common.ServiceOrders)
	for _, id := range ticketIDs(s) {
		price, ok := want[id]
		if !ok {
			continue
		}
		for _, st := range storeList {
			r.Checked++
			rep, ok := replicas[[2]string{st, id}]
			switch {
			case !ok:
				r.Violations = append(r.Violations, missing(in, "ticket "+id, st, fmt.Sprintf("%s at price %g", from[id], price), id))
			case rep.Price != price:
				r.Violations = append(r.Violations, diverged(in, "ticket "+id, id, st,
					fmt.Sprintf("replica %s at version %d (price %g), %s (price %g)", st, rep.Version, rep.Price, from[id], price)))
			}
		}
	}
	return finish(r, "no tickets")
}
