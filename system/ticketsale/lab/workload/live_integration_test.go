//go:build integration

package workload_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
	"github.com/ticketflow-lab/tflab/system/ticketsale/auth"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/expiration"
	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/probe"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
	"github.com/ticketflow-lab/tflab/system/ticketsale/orders"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

type system struct {
	in  map[string]*tstest.Instance
	dbs []sut.DB
}

// start runs the six services in the test process on a fresh vhost with
// the settings of a profile of ticketsale.Variants.
func start(t *testing.T, profile string) system {
	t.Helper()
	tog, err := ticketsale.Variants().Resolve(profile)
	if err != nil {
		t.Fatal(err)
	}
	url := labtest.VHost(t, labtest.UniqueName(t, "tsl"))
	s := system{in: map[string]*tstest.Instance{}}
	run := func(name string, extra map[string]string, spec tsapp.Spec, wire func(*tsapp.Runtime) error) {
		u, set := tog.ApplyTo(nil, extra)
		c := tstest.Config(t, name, url, 1, set)
		c.Unprotect = u
		s.in[name] = tstest.Start(t, c, spec, wire)
		s.dbs = append(s.dbs, sut.DB{Service: name, Instance: name + "-1", Path: c.DBPath})
	}
	run(common.ServiceGateway, nil, gateway.Spec, func(rt *tsapp.Runtime) error { _, err := gateway.Wire(rt); return err })
	run(common.ServiceAuth, nil, auth.Spec, tstest.WireErr(auth.Wire))
	run(common.ServiceExpiration, nil, expiration.Spec, expiration.Wire)
	run(common.ServicePayments, map[string]string{payments.SettingGatewayURL: s.in[common.ServiceGateway].URL}, payments.Spec, payments.Wire)
	run(common.ServiceTickets, nil, tickets.Spec, tstest.WireErr(tickets.Wire))
	run(common.ServiceOrders, map[string]string{orders.SettingExpirationWindow: "10m"}, orders.Spec, orders.Wire)
	return s
}

func (s system) client(t *testing.T) *client.Client {
	t.Helper()
	ep := client.Endpoints{}
	for name, in := range s.in {
		ep[name] = []string{in.URL}
	}
	c, err := client.New(ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A fault-free crowd on the fixed system: every request the plan makes is
// answered, racing buyers get one order per ticket, and at quiescence
// (after the expiration clock jumps past every window) each order is
// terminal as its buyer left it, every reservation belongs to a complete
// order, every replica is at its owner's version, and no order is charged
// twice although some paid twice at once.
func TestCrowdOnFixedSystem(t *testing.T) {
	s := start(t, ticketsale.ProfileFixed)
	c := s.client(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	if res, err := probe.Run(ctx, c, probe.Options{Wait: time.Minute}); err != nil {
		t.Fatalf("probe on a healthy system: %v", err)
	} else if res.Order == "" || res.Ticket == "" || len(res.Records) != 5 {
		t.Errorf("probe result %+v", res)
	}

	cfg := workload.Config{Users: 6, Sellers: 2, Tickets: 12, Rate: 20, Racers: 2, Think: spec.Duration(20 * time.Millisecond),
		ReplicaWait: spec.Duration(time.Minute)}
	half, cancelShare := 0.5, 0.25
	cfg.PayShare, cfg.CancelShare, cfg.DoublePayShare, cfg.CancelPaidShare = &half, &cancelShare, &half, &half
	plan, err := workload.NewPlan(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	var progress []workload.Progress
	res, err := workload.Run(ctx, c, plan, workload.Options{Progress: func(p workload.Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(progress) == 0 || progress[len(progress)-1].Phase != "done" || progress[len(progress)-1].Done != 12 {
		t.Errorf("last progress %+v", progress)
	}
	counts := plan.Counts()
	sum := res.Summary.Kinds
	if sum[workload.KindSignup].Accepted != 8 || sum[workload.KindTicketCreate].Accepted != 12 || sum[workload.KindTicketUpdate].Accepted != 12 {
		t.Errorf("signups, creates, updates: %+v", sum)
	}
	// Two racers per ticket, reserveAtomic fixed: exactly one wins each.
	if got := sum[workload.KindOrderPlace]; got.Accepted != 12 || got.Rejected != 12 || got.Unknown != 0 {
		t.Errorf("orders %+v, want 12 accepted and 12 refused as reserved", got)
	}
	for _, k := range []string{workload.KindPayment, workload.KindOrderCancel} {
		if sum[k].Unknown != 0 {
			t.Errorf("%s: %d unknown outcomes on a fault-free system", k, sum[k].Unknown)
		}
	}
	if got := sum[workload.KindPayment]; got.Accepted < counts.Pay {
		t.Errorf("payments %+v, want at least %d accepted", got, counts.Pay)
	}
	fate := map[string]string{} // order → the buyer's plan for it
	paid := map[string]bool{}
	for _, r := range res.Records {
		if r.Kind == workload.KindOrderPlace && r.Outcome == workload.OutcomeAccepted {
			fate[r.Order] = plan.Tickets[r.Seq].Action
		}
		if r.Kind == workload.KindPayment && r.Outcome == workload.OutcomeAccepted {
			paid[r.Order] = true
		}
	}
	// Expire what is left: jump the expiration clock past every window.
	if code, b := s.in[common.ServiceExpiration].Do(t, nil, http.MethodPost, "/lab/clock", map[string]int64{"offsetMs": int64(time.Hour / time.Millisecond)}); code != http.StatusOK {
		t.Fatalf("set clock: %d %s", code, b)
	}
	labtest.Eventually(t, 2*time.Minute, func() error {
		snap, err := snapshot.Read(ctx, s.dbs)
		if err != nil {
			return err
		}
		return settled(snap, fate, paid)
	})
}

// settled checks the fixed system's end state against the crowd's plan.
func settled(snap snapshot.Snapshot, fate map[string]string, paid map[string]bool) error {
	if len(snap.Orders) != len(fate)+1 { // + the probe's
		return fmt.Errorf("%d orders stored, %d placed", len(snap.Orders), len(fate)+1)
	}
	active := map[string]string{}
	for _, o := range snap.Orders {
		want := common.OrderCancelled
		if f, ok := fate[o.ID]; !ok || (f == workload.ActionPay && paid[o.ID]) {
			want = common.OrderComplete
		}
		if o.Status != want {
			return fmt.Errorf("order %s (%s) is %s, want %s", o.ID, fate[o.ID], o.Status, want)
		}
		if o.Status.Active() {
			active[o.TicketID] = o.ID
		}
	}
	for _, tk := range snap.Tickets {
		if tk.OrderID != active[tk.ID] {
			return fmt.Errorf("ticket %s held by %q, active order %q", tk.ID, tk.OrderID, active[tk.ID])
		}
	}
	for _, r := range snap.TicketReplicas {
		m, _ := snap.Ticket(r.ID)
		if r.Version > m.Version || r.Price != m.Price {
			return fmt.Errorf("ticket %s: replica at version %d price %g, owner at %d price %g", r.ID, r.Version, r.Price, m.Version, m.Price)
		}
	}
	kept := map[string]int{}
	for _, ch := range snap.Charges {
		if !ch.Refunded {
			kept[ch.OrderID]++
		}
	}
	for o, n := range kept {
		if n > 1 {
			return fmt.Errorf("order %s charged %d times", o, n)
		}
	}
	for _, r := range snap.OrderReplicas {
		if o, _ := snap.Order(r.ID); r.Status != o.Status || r.Version != o.Version {
			return fmt.Errorf("order %s: payments replica %s v%d, owner %s v%d", r.ID, r.Status, r.Version, o.Status, o.Version)
		}
	}
	return nil
}

// The course's experiment, small: tickets created at 5, updated to 10,
// then 15, all at once; the orders replica ends at 15 for every ticket.
func TestPriceUpdateRace(t *testing.T) {
	s := start(t, ticketsale.ProfileFixed)
	c := s.client(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	zero := 0.0
	plan, err := workload.NewPlan(workload.Config{Tickets: 30, Prices: []float64{5, 10, 15}, OrderShare: &zero, Rate: 10000, MaxInFlight: 30, Sellers: 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, err := workload.Run(ctx, c, plan, workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary.Kinds[workload.KindTicketUpdate]; got.Accepted != 60 {
		t.Fatalf("updates %+v, want 60 accepted", got)
	}
	labtest.Eventually(t, 2*time.Minute, func() error {
		snap, err := snapshot.Read(ctx, s.dbs)
		if err != nil {
			return err
		}
		if len(snap.TicketReplicas) != 30 {
			return fmt.Errorf("%d replicas, want 30", len(snap.TicketReplicas))
		}
		for _, r := range snap.TicketReplicas {
			if r.Price != 15 || r.Version != 2 {
				return fmt.Errorf("replica of %s at price %g version %d", r.ID, r.Price, r.Version)
			}
		}
		return nil
	})
}
