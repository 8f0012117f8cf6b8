package invariants

import (
	"fmt"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// checkBoundedHandling (TS10): no service handles one message id more
// than Limits.MaxHandlings times. Ticketsale's ackWait copies and retries
// keep the message id, so a poison message (a duplicate create, a strict
// version rule's duplicate update, L6) shows as one id handled without end.
func checkBoundedHandling(inv Invariant, in Input) check.Result {
	r := inv.result("deliveries")
	max := in.Limits.maxHandlings()
	type key struct{ service, id string }
	type tally struct {
		n, failed   int
		typ, agg    string
		version     int64
		lastError   string
		trace       string
		deadLetters bool
	}
	counts := map[key]*tally{}
	var order []key
	for i := range in.Events {
		e := &in.Events[i]
		if e.Kind != history.KindProcess || e.MessageID == "" {
			continue
		}
		k := key{e.Service, e.MessageID}
		t := counts[k]
		if t == nil {
			t = &tally{typ: e.MessageType, agg: e.AggregateID, version: e.AggregateVersion}
			counts[k] = t
			order = append(order, k)
		}
		t.n++
		if e.Failed() {
			t.failed++
			if e.Error != "" {
				t.lastError = e.Error
			}
		}
		if t.trace == "" && !e.TraceID.IsZero() {
			t.trace = e.TraceID.String()
		}
	}
	for _, k := range order {
		r.Checked++
		t := counts[k]
		if t.n <= max {
			continue
		}
		detail := fmt.Sprintf("%s handled message %s (%s of %s at version %d) %d times, %d failed (bound %d)",
			k.service, k.id, t.typ, t.agg, t.version, t.n, t.failed, max)
		if t.lastError != "" {
			detail += ": " + strings.TrimSpace(t.lastError)
		}
		v := check.Violation{Category: check.UnboundedRedelivery, Subject: subjectOf(entityOfSubject(t.typ), t.agg), Effect: t.typ + " in " + k.service,
			Detail: detail, MessageIDs: []string{k.id}}
		if t.trace != "" {
			v.TraceIDs = []string{t.trace}
		}
		r.Violations = append(r.Violations, v)
	}
	return finish(r, "no handling spans")
}
