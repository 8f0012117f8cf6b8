package invariants

import (
	"fmt"
	"slices"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// KnownGapL12 notes a payments replica that never learned its order is
// complete while paymentGuards is faithful: the course publishes no event
// on completion (L12). The fixed mode publishes order:updated.
const KnownGapL12 check.Category = "known gap L12 (complete never propagated)"

// checkConvergence (TS8): at quiescence every orders store holds every
// ticket at the master's title, price and version, and every payments
// store holds every order at the master's status and version. A payments
// replica behind a complete master is a note, not a violation, while
// paymentGuards is faithful (KnownGapL12).
func checkConvergence(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("replicas")
	tg := in.toggles()
	ticketStores := stores(s.TicketReplicas, func(t TicketReplica) string { return t.Store }, common.ServiceOrders)
	replicaT := map[[2]string]TicketReplica{}
	for _, t := range s.TicketReplicas {
		replicaT[[2]string{t.Store, t.ID}] = t
	}
	for _, m := range s.Tickets {
		for _, st := range ticketStores {
			r.Checked++
			rep, ok := replicaT[[2]string{st, m.ID}]
			switch {
			case !ok:
				r.Violations = append(r.Violations, missing(in, "ticket "+m.ID, st, fmt.Sprintf("owner at version %d (price %g)", m.Version, m.Price), m.ID))
			case rep.Version != m.Version || rep.Price != m.Price || rep.Title != m.Title:
				r.Violations = append(r.Violations, diverged(in, "ticket "+m.ID, m.ID, st,
					fmt.Sprintf("replica %s at version %d (price %g, %q), owner at version %d (price %g, %q)", st, rep.Version, rep.Price, rep.Title, m.Version, m.Price, m.Title)))
			}
		}
	}
	orderStores := stores(s.OrderReplicas, func(o OrderReplica) string { return o.Store }, common.ServicePayments)
	replicaO := map[[2]string]OrderReplica{}
	for _, o := range s.OrderReplicas {
		replicaO[[2]string{o.Store, o.ID}] = o
	}
	gap := 0
	gapExample := ""
	for _, m := range s.Orders {
		for _, st := range orderStores {
			r.Checked++
			rep, ok := replicaO[[2]string{st, m.ID}]
			switch {
			case !ok:
				r.Violations = append(r.Violations, missing(in, "order "+m.ID, st, fmt.Sprintf("owner %s at version %d", m.Status, m.Version), m.ID))
			case rep.Status == m.Status && rep.Version == m.Version:
			case m.Status == common.OrderComplete && rep.Status != common.OrderComplete && tg.IsFaithful(common.PaymentGuards):
				gap++
				if gapExample == "" {
					gapExample = "order " + m.ID
				}
			default:
				r.Violations = append(r.Violations, diverged(in, "order "+m.ID, m.ID, st,
					fmt.Sprintf("replica %s %s at version %d, owner %s at version %d", st, rep.Status, rep.Version, m.Status, m.Version)))
			}
		}
	}
	if gap > 0 {
		r.Notes = append(r.Notes, check.Note{Category: KnownGapL12, Count: gap, Example: gapExample})
	}
	return finish(r, "no tickets or orders")
}

// stores lists the stores rows name, sorted; def when there are none.
func stores[T any](rows []T, store func(T) string, def string) []string {
	var out []string
	for _, row := range rows {
		if s := store(row); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return []string{def}
	}
	slices.Sort(out)
	return out
}

func missing(in Input, subject, store, owner, id string) check.Violation {
	cat, queue := in.held(id)
	detail := fmt.Sprintf("replica %s has no copy, %s", store, owner)
	if queue != "" {
		detail += "; queue " + queue + " still holds messages"
	}
	return check.Violation{Category: cat, Subject: subject, Effect: "replica " + store, Detail: detail, TraceIDs: in.tracesOf(id)}
}

func diverged(in Input, subject, id, store, detail string) check.Violation {
	cat, queue := in.heldOr(check.Diverged, id)
	if queue != "" {
		detail += "; queue " + queue + " still holds messages"
	}
	return check.Violation{Category: cat, Subject: subject, Effect: "replica " + store, Detail: detail, TraceIDs: in.tracesOf(id)}
}
