package workload_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload/fakeshop"
)

func TestRunPlaysThePlan(t *testing.T) {
	s := fakeshop.Start(t, 2)
	c := s.Client(t)
	pay, cancel, twice, cancelPaid := 0.5, 0.3, 0.5, 0.5
	plan, err := workload.NewPlan(workload.Config{Users: 5, Tickets: 30, Rate: 1000, Racers: 3, PayShare: &pay, CancelShare: &cancel,
		DoublePayShare: &twice, CancelPaidShare: &cancelPaid}, 11)
	if err != nil {
		t.Fatal(err)
	}
	var last workload.Progress
	res, err := workload.Run(t.Context(), c, plan, workload.Options{Poll: time.Millisecond, Progress: func(p workload.Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	want := plan.Counts()
	k := res.Summary.Kinds
	if k[workload.KindSignup].Accepted != 7 || k[workload.KindTicketCreate].Accepted != 30 || k[workload.KindTicketUpdate].Accepted != want.Updates {
		t.Errorf("signups, creates, updates %+v", k)
	}
	// The replica lags two tries: the race goes in rounds until it has the
	// ticket, then one racer of three wins.
	if got := k[workload.KindOrderPlace]; got.Accepted != 30 || got.Rejected != 60 {
		t.Errorf("orders %+v, want 30 won, 60 refused", got)
	}
	// Every paid order is paid once; a second payment at once is refused.
	if got := k[workload.KindPayment]; got.Accepted != want.Pay || got.Rejected != want.DoublePay || s.Payments() != want.Pay {
		t.Errorf("payments %+v (shop %d), want %d accepted, %d refused", got, s.Payments(), want.Pay, want.DoublePay)
	}
	if got := k[workload.KindOrderCancel]; got.Accepted != want.Cancel || got.Rejected != want.CancelPaid {
		t.Errorf("cancels %+v, want %d accepted, %d refused once complete", got, want.Cancel, want.CancelPaid)
	}
	if last.Phase != "done" || last.Done != 30 || last.Paid != want.Pay || last.InFlight != 0 {
		t.Errorf("last progress %+v", last)
	}
	for i, r := range res.Records {
		if i > 0 && r.At.Before(res.Records[i-1].At) {
			t.Fatalf("records out of time order at %d", i)
		}
		if r.Kind == workload.KindOrderPlace && r.Outcome == workload.OutcomeAccepted && (r.ID == "" || r.Ticket == "" || r.User == "") {
			t.Errorf("order record without ids: %+v", r)
		}
	}
	var table strings.Builder
	if err := res.Summary.WriteTable(&table); err != nil || !strings.Contains(table.String(), "order.place") {
		t.Errorf("table: %v\n%s", err, table.String())
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	c := fakeshop.Start(t, 0).Client(t)
	plan, err := workload.NewPlan(workload.Config{Users: 2, Tickets: 1000, Rate: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Cancelled once two lifecycles are done; 1000 at 2/s would take 8 min.
	res, err := workload.Run(ctx, c, plan, workload.Options{ProgressEvery: time.Millisecond, Progress: func(p workload.Progress) {
		if p.Done >= 2 {
			cancel()
		}
	}})
	if err == nil || res == nil || len(res.Records) == 0 || res.Summary.Kinds[workload.KindTicketCreate].Accepted >= 1000 {
		t.Errorf("cancelled run: %v, %d records", err, len(res.Records))
	}
}
