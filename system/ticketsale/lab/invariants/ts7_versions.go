package invariants

import (
	"fmt"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// checkVersionSequence (TS7): in every store's write log each record's
// writes carry versions first, first+1, first+2, …: a write at a version
// not one above the stored one went backwards, repeated or skipped.
func checkVersionSequence(inv Invariant, in Input) check.Result {
	s := in.Snapshot
	r := inv.result("records")
	if len(s.Writes) == 0 {
		return finish(r, "no write log")
	}
	type key struct{ store, instance, entity, id string }
	type state struct {
		version int64
		bad     []string
	}
	recs := map[key]*state{}
	var order []key
	for _, entity := range []string{common.EntityTicket, common.EntityTicketReplica, common.EntityOrder, common.EntityOrderReplica} {
		for _, w := range writesOf(s, entity) {
			k := key{w.Store, w.Instance, w.Entity, w.ID}
			st := recs[k]
			if st == nil {
				recs[k] = &state{version: w.Version}
				order = append(order, k)
				continue
			}
			switch {
			case w.Version < st.version:
				st.bad = append(st.bad, fmt.Sprintf("went back from version %d to %d (%s)", st.version, w.Version, w.Cause))
			case w.Version == st.version:
				st.bad = append(st.bad, fmt.Sprintf("applied version %d again (%s)", w.Version, w.Cause))
			case w.Version > st.version+1:
				st.bad = append(st.bad, fmt.Sprintf("skipped from version %d to %d (%s)", st.version, w.Version, w.Cause))
			}
			st.version = w.Version
		}
	}
	for _, k := range order {
		r.Checked++
		st := recs[k]
		if len(st.bad) == 0 {
			continue
		}
		detail := strings.Join(first(st.bad, 3), "; ")
		if len(st.bad) > 3 {
			detail += fmt.Sprintf("; %d more", len(st.bad)-3)
		}
		r.Violations = append(r.Violations, check.Violation{Category: check.OutOfOrder, Subject: subjectOf(k.entity, k.id),
			Effect: k.entity + " in " + k.store, Detail: detail, TraceIDs: in.tracesOf(k.id)})
	}
	return finish(r, "no versioned records")
}

// subjectOf names a record: "ticket t-1", "order o-1".
func subjectOf(entity, id string) string {
	if entity == common.EntityOrder || entity == common.EntityOrderReplica {
		return "order " + id
	}
	return "ticket " + id
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
