package snapshot_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/auth"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/expiration"
	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
	"github.com/ticketflow-lab/tflab/system/ticketsale/orders"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tx(t *testing.T, db *store.DB, fn func(ctx context.Context, q store.Querier) error) {
	t.Helper()
	must(t, tstest.InTx(t, db, fn))
}

// stores are real service stores after one ticket was created, repriced,
// ordered, charged twice (a duplicate charge without idempotency key) and
// paid, and a second order's job waits.
type stores struct {
	tickets, orders, payments, expiration, gateway, auth *store.DB
	ticket, order                                        string
	charges                                              []string
}

func (s stores) dbs() []sut.DB {
	return []sut.DB{
		{Service: common.ServiceGateway, Instance: "gateway-1", Path: s.gateway.Path()},
		{Service: common.ServiceAuth, Instance: "auth-1", Path: s.auth.Path()},
		{Service: common.ServiceExpiration, Instance: "expiration-1", Path: s.expiration.Path()},
		{Service: common.ServicePayments, Instance: "payments-1", Path: s.payments.Path()},
		{Service: common.ServiceTickets, Instance: "tickets-1", Path: s.tickets.Path()},
		{Service: common.ServiceOrders, Instance: "orders-1", Path: s.orders.Path()},
	}
}

func fill(t *testing.T) stores {
	t.Helper()
	tg := common.Fixed()
	s := stores{
		tickets:    tstest.Store(t, tickets.Migrations),
		orders:     tstest.Store(t, orders.Migrations),
		payments:   tstest.Store(t, payments.Migrations),
		expiration: tstest.Store(t, expiration.Migrations),
		gateway:    tstest.Store(t, gateway.Migrations),
		auth:       tstest.Store(t, auth.Migrations),
	}
	ctx := t.Context()
	// tickets: create at 5, update to 10.
	var created, updated common.Event
	tx(t, s.tickets, func(ctx context.Context, q store.Querier) error {
		var err error
		created, err = tickets.Create(ctx, q, tickets.Ticket{ID: "t-1", Title: "concert", Price: 5, UserID: "seller"}, now)
		return err
	})
	tx(t, s.tickets, func(ctx context.Context, q store.Querier) error {
		var err error
		_, updated, err = tickets.Update(ctx, q, "t-1", "seller", "concert", 10, now)
		return err
	})
	s.ticket = "t-1"
	tx(t, s.orders, func(ctx context.Context, q store.Querier) error {
		return orders.OnTicketCreated(ctx, q, tg, created.Payload.(common.TicketCreated), now)
	})
	tx(t, s.orders, func(ctx context.Context, q store.Querier) error {
		return orders.OnTicketUpdated(ctx, q, tg, updated.Payload.(common.TicketUpdated), now)
	})
	// orders: place; tickets, payments, expiration hear order:created.
	var placed common.Event
	tx(t, s.orders, func(ctx context.Context, q store.Querier) error {
		var err error
		_, placed, err = orders.Place(ctx, q, tg, orders.Order{ID: "o-1", UserID: "buyer",
			ExpiresAt: common.FormatTime(now.Add(time.Minute)), Ticket: orders.Ticket{ID: "t-1"}}, now)
		return err
	})
	s.order = "o-1"
	oc := placed.Payload.(common.OrderCreatedEvent)
	tx(t, s.tickets, func(ctx context.Context, q store.Querier) error {
		_, err := tickets.OnOrderCreated(ctx, q, tg, oc, now)
		return err
	})
	tx(t, s.payments, func(ctx context.Context, q store.Querier) error { return payments.OnOrderCreated(ctx, q, tg, oc, now) })
	tx(t, s.expiration, func(ctx context.Context, q store.Querier) error {
		_, err := expiration.Schedule(ctx, q, tg, oc, now)
		return err
	})
	// A second order's job, done.
	tx(t, s.expiration, func(ctx context.Context, q store.Querier) error {
		if _, err := expiration.Schedule(ctx, q, tg, common.OrderCreatedEvent{ID: "o-0", ExpiresAt: common.FormatTime(now)}, now); err != nil {
			return err
		}
		_, err := expiration.Complete(ctx, q, expiration.Job{ID: "o-0", OrderID: "o-0"}, now.Add(time.Second))
		return err
	})
	// gateway: two charges of the order, the second without a key, refunded.
	g := gateway.New(s.gateway, gateway.Knobs{}, 1)
	for _, key := range []string{"o-1", ""} {
		c, out, err := g.Charge(ctx, gateway.ChargeRequest{Amount: 1000, Currency: "usd", Source: "tok_visa", OrderID: "o-1"}, key, now)
		if err != nil || out != gateway.Charged {
			t.Fatalf("charge: %v %v", out, err)
		}
		s.charges = append(s.charges, c.ID)
	}
	if _, err := g.Refund(ctx, s.charges[1], now); err != nil {
		t.Fatal(err)
	}
	// payments records the first charge; orders completes; payments learns it.
	var paid []common.Event
	tx(t, s.payments, func(ctx context.Context, q store.Querier) error {
		var err error
		_, paid, err = payments.Record(ctx, q, tg, payments.Payment{ID: "p-1", OrderID: "o-1", StripeID: s.charges[0]}, now)
		return err
	})
	var done []common.Event
	tx(t, s.orders, func(ctx context.Context, q store.Querier) error {
		var err error
		done, err = orders.OnPaymentCreated(ctx, q, tg, paid[0].Payload.(common.PaymentCreated), now)
		return err
	})
	tx(t, s.payments, func(ctx context.Context, q store.Querier) error {
		return payments.OnOrderUpdated(ctx, q, tg, done[0].Payload.(common.OrderUpdatedEvent), now)
	})
	tx(t, s.auth, func(ctx context.Context, q store.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO users (id, email, password, created_at) VALUES ('u1', 'a@b.c', 'x.y', ?), ('u2', 'd@e.f', 'x.y', ?)`,
			now.Format(time.RFC3339), now.Format(time.RFC3339))
		return err
	})
	return s
}

func TestReadEveryStore(t *testing.T) {
	s := fill(t)
	snap, err := snapshot.Read(t.Context(), s.dbs())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Stores) != 6 || snap.Stores[5] != (snapshot.Store{Service: "orders", Instance: "orders-1"}) {
		t.Errorf("stores: %+v", snap.Stores)
	}
	if want := []snapshot.Ticket{{ID: "t-1", Title: "concert", Price: 10, UserID: "seller", OrderID: "o-1", Version: 2}}; !reflect.DeepEqual(snap.Tickets, want) {
		t.Errorf("tickets %+v, want %+v", snap.Tickets, want)
	}
	if want := []snapshot.TicketReplica{{Store: "orders", Instance: "orders-1", ID: "t-1", Title: "concert", Price: 10, Version: 1}}; !reflect.DeepEqual(snap.TicketReplicas, want) {
		t.Errorf("ticket replicas %+v, want %+v", snap.TicketReplicas, want)
	}
	exp := now.Add(time.Minute)
	if want := []snapshot.Order{{ID: "o-1", UserID: "buyer", Status: common.OrderComplete, TicketID: "t-1", ExpiresAt: exp, Version: 1}}; !reflect.DeepEqual(snap.Orders, want) {
		t.Errorf("orders %+v, want %+v", snap.Orders, want)
	}
	if want := []snapshot.OrderReplica{{Store: "payments", Instance: "payments-1", ID: "o-1", UserID: "buyer", Price: 10, Status: common.OrderComplete, ExpiresAt: exp, Version: 1}}; !reflect.DeepEqual(snap.OrderReplicas, want) {
		t.Errorf("order replicas %+v, want %+v", snap.OrderReplicas, want)
	}
	if want := []snapshot.Payment{{ID: "p-1", OrderID: "o-1", StripeID: s.charges[0], CreatedAt: now}}; !reflect.DeepEqual(snap.Payments, want) {
		t.Errorf("payments %+v, want %+v", snap.Payments, want)
	}
	if len(snap.Jobs) != 2 || snap.Jobs[1].ID != "o-1" || snap.Jobs[1].State != snapshot.JobWaiting || !snap.Jobs[1].Due.Equal(exp) ||
		!snap.Jobs[1].DoneAt.IsZero() || snap.Jobs[0].State != snapshot.JobDone || !snap.Jobs[0].DoneAt.Equal(now.Add(time.Second)) {
		t.Errorf("jobs %+v", snap.Jobs)
	}
	if len(snap.Charges) != 2 {
		t.Fatalf("charges %+v", snap.Charges)
	}
	for _, c := range snap.Charges {
		keyed := c.ID == s.charges[0]
		if c.OrderID != "o-1" || c.Amount != 1000 || (c.IdempotencyKey == "o-1") != keyed || c.Refunded == keyed ||
			(c.RefundID != "") == keyed || !c.CreatedAt.Equal(now) {
			t.Errorf("charge %+v (keyed %v)", c, keyed)
		}
	}
	if snap.Users != 2 {
		t.Errorf("users %d, want 2", snap.Users)
	}
	// Write log: the master ticket 0,1,2; the replica 0,1; the order 0,1;
	// the order replica 0,1.
	for _, c := range []struct {
		store, entity, id string
		versions          []int64
	}{
		{"tickets", common.EntityTicket, "t-1", []int64{0, 1, 2}},
		{"orders", common.EntityTicketReplica, "t-1", []int64{0, 1}},
		{"orders", common.EntityOrder, "o-1", []int64{0, 1}},
		{"payments", common.EntityOrderReplica, "o-1", []int64{0, 1}},
	} {
		var got []int64
		for _, w := range snap.WritesOf(c.store, c.entity, c.id) {
			got = append(got, w.Version)
			if !json.Valid(w.Data) || w.Cause == "" || !w.At.Equal(now) {
				t.Errorf("write %+v", w)
			}
		}
		if !reflect.DeepEqual(got, c.versions) {
			t.Errorf("%s %s %s versions %v, want %v", c.store, c.entity, c.id, got, c.versions)
		}
	}
	if tk, ok := snap.Ticket("t-1"); !ok || tk.OrderID != "o-1" {
		t.Errorf("Ticket(t-1) = %+v %v", tk, ok)
	}
	if _, ok := snap.Order("nope"); ok {
		t.Error("Order(nope) found")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	snap, err := snapshot.Read(t.Context(), fill(t).dbs())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	back, err := snapshot.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, snap) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back, snap)
	}
	b2, _ := json.Marshal(back)
	if string(b2) != string(b) {
		t.Errorf("second encoding differs:\n%s\n%s", b2, b)
	}
	if _, err := snapshot.Decode([]byte(`{"tickets": 3}`)); err == nil {
		t.Error("Decode accepted a malformed snapshot")
	}
}

func TestMissingStoresAndTables(t *testing.T) {
	dir := t.TempDir()
	// A gateway store without its tables and a store that does not exist.
	empty := tstest.Store(t)
	snap, err := snapshot.Read(t.Context(), []sut.DB{
		{Service: common.ServiceGateway, Instance: "gateway-1", Path: empty.Path()},
		{Service: common.ServiceOrders, Instance: "orders-1", Path: filepath.Join(dir, "absent.db")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Stores) != 1 || len(snap.Charges) != 0 || len(snap.Orders) != 0 {
		t.Errorf("snapshot of nothing: %+v", snap)
	}
}

func TestUnreadableRowIsAnError(t *testing.T) {
	db := tstest.Store(t, orders.Migrations)
	tx(t, db, func(ctx context.Context, q store.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO orders (id, user_id, status, expires_at, ticket_id, version) VALUES ('o-9', 'u', 'created', 'yesterday', 't', 0)`)
		return err
	})
	_, err := snapshot.Read(t.Context(), []sut.DB{{Service: common.ServiceOrders, Instance: "orders-2", Path: db.Path()}})
	if err == nil || !strings.Contains(err.Error(), "orders-2") || !strings.Contains(err.Error(), "o-9") {
		t.Errorf("bad expiresAt: %v", err)
	}
}
