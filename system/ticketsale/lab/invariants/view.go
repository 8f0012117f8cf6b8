package invariants

import (
	"fmt"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
)

// Checks returns the invariants as the lab judges a system's own
// (spec.Vocabulary.Invariants): each reads the run through a check.View,
// turned into one Input per view (FromView).
func Checks() []check.Invariant {
	out := make([]check.Invariant, len(All))
	for i, inv := range All {
		out[i] = check.Invariant{ID: inv.ID, Name: inv.Name, Guarantee: inv.Guarantee, Err: inv.Err,
			Check: func(self check.Invariant, v *check.View) check.Result {
				in, err := check.Memo(v, fromViewMemo).get()
				var r check.Result
				if err != nil {
					r = inv.result("records")
					r.Status, r.Reason = check.Inconclusive, err.Error()
				} else {
					r = inv.Check(in)
				}
				r.Invariant = self
				return r
			}}
	}
	return out
}

// memoInput is FromView's result, shared by the invariants of one view.
type memoInput struct {
	in  Input
	err error
}

func (m memoInput) get() (Input, error) { return m.in, m.err }

func fromViewMemo(v *check.View) memoInput {
	in, err := FromView(v)
	return memoInput{in, err}
}

// FromView gathers a checker's Input from a run: ticketsale's snapshot, the
// time it was taken, the publish and handling spans, the workload's and
// the probe's records, the broker's holdings and dead letters, the
// toggles the run shows (InferToggles) and the limits (the run's clock
// tolerance as TS12's skew tolerance).
func FromView(v *check.View) (Input, error) {
	snap, err := check.SystemSnapshot[snapshot.Snapshot](v)
	if err != nil {
		return Input{}, fmt.Errorf("ticketsale snapshot: %w", err)
	}
	h := v.History()
	in := Input{Snapshot: snap, At: h.Snapshot.At, Records: v.Records(), Holdings: v.Holdings(),
		DeadLetters: h.Snapshot.DeadLetters, Limits: Limits{SkewTolerance: v.ClockTolerance()}}
	if in.At.IsZero() {
		in.At = h.Meta.End
	}
	if n := h.Meta.Limits.MaxAttempts; n+2 > DefaultMaxHandlings {
		in.Limits.MaxHandlings = n + 2
	}
	for _, e := range v.EventsWhere(func(e *history.EventHead) bool {
		return e.Kind == history.KindPublish || e.Kind == history.KindProcess
	}) {
		in.Events = append(in.Events, *e)
	}
	if snap != nil {
		in.Toggles = InferToggles(snap, in.Events)
	}
	return in, nil
}

// InferToggles returns the toggles the checkers depend on as the run shows
// them (a history does not record the services' settings): paymentGuards
// is faithful when the gateway took a charge without an idempotency key
// (the fixed payments always sends the order id), or, without charges,
// when an order is complete and no order:updated was ever published. The
// other toggles are left fixed.
func InferToggles(s *Snapshot, events []history.Event) common.Toggles {
	t := common.Fixed()
	faithful := false
	for _, c := range s.Charges {
		if c.IdempotencyKey == "" {
			faithful = true
		}
	}
	if len(s.Charges) == 0 {
		complete := false
		for _, o := range s.Orders {
			complete = complete || o.Status == common.OrderComplete
		}
		updated := false
		for i := range events {
			updated = updated || events[i].Kind == history.KindPublish && events[i].MessageType == common.SubjectOrderUpdated
		}
		faithful = complete && !updated
	}
	return t.With(common.PaymentGuards, faithful)
}
