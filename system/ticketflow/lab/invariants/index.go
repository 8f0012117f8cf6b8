package invariants

import (
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
)

// The lab's names, so that the checkers read as they did in scenarios/check.
type (
	// Invariant is a lab invariant.
	Invariant = check.Invariant
	// Result is an invariant's result.
	Result = check.Result
	// Violation is one broken promise.
	Violation = check.Violation
	// Note counts a legal anomaly.
	Note  = check.Note
	notes = check.Notes
)

const (
	Pass                          = check.Pass
	Violated                      = check.Violated
	Inconclusive                  = check.Inconclusive
	Lost                          = check.Lost
	DuplicatedEffect              = check.DuplicatedEffect
	DuplicatedDelivery            = check.DuplicatedDelivery
	DuplicatedDeliveryRedelivered = check.DuplicatedDeliveryRedelivered
	Unexpected                    = check.Unexpected
	OutOfOrder                    = check.OutOfOrder
	OutOfOrderRedelivered         = check.OutOfOrderRedelivered
	Recovered                     = check.Recovered
	Accounted                     = check.Accounted
	Diverged                      = check.Diverged
	Mismatch                      = check.Mismatch
)

func newResult(inv Invariant, subject string) Result { return check.NewResult(inv, subject) }
func finish(r Result) Result                         { return check.Finish(r) }

// index holds Ticketflow's lookups over one judged history: its snapshot
// rows by id and its submissions, built once per evaluation (check.Memo);
// v is the View of the checker that reads it (see adapt).
type index struct {
	v    *check.View
	h    *history.History
	snap *tfhistory.Snapshot // empty when none was taken
	tol  time.Duration

	subs       []tfhistory.Submission
	cmds       []tfhistory.Command
	submission map[string]*tfhistory.Submission
	inquiry    map[string]*tfhistory.Inquiry
	ticket     map[string]*tfhistory.Ticket
	reminders  map[string][]*tfhistory.Reminder // ticket id → SLA records
	snapErr    error
}

func indexOf(v *check.View) *index { return check.Memo(v, newIndex) }

func newIndex(v *check.View) *index {
	h := v.History()
	snap, err := tfhistory.Of(h)
	if snap == nil {
		snap = &tfhistory.Snapshot{}
	}
	x := &index{v: v, h: h, snap: snap, tol: v.ClockTolerance(), snapErr: err,
		subs: tfhistory.Submissions(h.Records), cmds: tfhistory.Commands(h.Records)}
	x.submission = make(map[string]*tfhistory.Submission, len(x.subs))
	for i := range x.subs {
		x.submission[x.subs[i].InquiryID] = &x.subs[i]
	}
	x.inquiry = make(map[string]*tfhistory.Inquiry, len(snap.Inquiries))
	for i := range snap.Inquiries {
		x.inquiry[snap.Inquiries[i].ID] = &snap.Inquiries[i]
	}
	x.ticket = make(map[string]*tfhistory.Ticket, len(snap.Tickets))
	for i := range snap.Tickets {
		x.ticket[snap.Tickets[i].ID] = &snap.Tickets[i]
	}
	x.reminders = make(map[string][]*tfhistory.Reminder, len(snap.Reminders))
	for i := range snap.Reminders {
		r := &snap.Reminders[i]
		x.reminders[r.TicketID] = append(x.reminders[r.TicketID], r)
	}
	return x
}

// adapt turns a checker over the index into an Invariant's Check. The
// checker gets a shallow copy of the shared index that reads events
// through its own View v (whose copies of events are its goroutine's).
func adapt(f func(Invariant, *index) Result) func(Invariant, *check.View) Result {
	return func(inv Invariant, v *check.View) Result {
		x := *indexOf(v)
		x.v = v
		return f(inv, &x)
	}
}

// hasSnapshot reports whether the databases were captured at the end.
func (x *index) hasSnapshot() bool { return x.v.HasSnapshot() && x.snapErr == nil }

func (x *index) ev(n int32) *history.Event      { return x.v.Event(n) }
func (x *index) head(n int32) history.EventHead { return x.v.Head(n) }

func (x *index) related(aggregate string, types ...string) (msgs, traces []string) {
	return x.v.Related(aggregate, types...)
}

func (x *index) deadLettered(aggregate, msgType, service string) (string, bool) {
	return x.v.DeadLettered(aggregate, msgType, service)
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func prependUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append([]string{s}, list...)
}
