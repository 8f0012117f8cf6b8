package orders_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/orders"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func tx(t *testing.T, db *store.DB, fn func(ctx context.Context, q store.Querier) error) error {
	t.Helper()
	return tstest.InTx(t, db, fn)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func setup(t *testing.T, tg common.Toggles) *store.DB {
	t.Helper()
	db := tstest.Store(t, orders.Migrations)
	must(t, tx(t, db, func(ctx context.Context, q store.Querier) error {
		return orders.OnTicketCreated(ctx, q, tg, common.TicketCreated{ID: "t1", Title: "concert", Price: 5, UserID: "seller"}, now)
	}))
	return db
}

func place(t *testing.T, db *store.DB, tg common.Toggles, id string) error {
	t.Helper()
	return tx(t, db, func(ctx context.Context, q store.Querier) error {
		_, _, err := orders.Place(ctx, q, tg, orders.Order{ID: id, UserID: "buyer", ExpiresAt: common.FormatTime(now.Add(time.Minute)), Ticket: orders.Ticket{ID: "t1"}}, now)
		return err
	})
}

func order(t *testing.T, db *store.DB, id string) *orders.Order {
	t.Helper()
	o, err := orders.Get(t.Context(), db, id)
	if err != nil || o == nil {
		t.Fatalf("order %s: %v, %v", id, o, err)
	}
	return o
}

func price(t *testing.T, db *store.DB) (float64, int64) {
	t.Helper()
	tk, err := orders.GetTicket(t.Context(), db, "t1")
	if err != nil || tk == nil {
		t.Fatalf("ticket: %v %v", tk, err)
	}
	return tk.Price, tk.Version
}

func updated(v int64, p float64) common.TicketUpdated {
	return common.TicketUpdated{ID: "t1", Version: v, Title: "concert", Price: p, UserID: "seller"}
}

func TestCreateIdempotentDuplicateTicketCreated(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.CreateIdempotent, faithful)
		db := setup(t, tg)
		err := tx(t, db, func(ctx context.Context, q store.Querier) error {
			return orders.OnTicketCreated(ctx, q, tg, common.TicketCreated{ID: "t1", Title: "concert", Price: 5}, now)
		})
		if faithful == (err == nil) {
			t.Errorf("faithful=%v: duplicate ticket:created → %v", faithful, err)
		}
	}
}

// The course's experiment in small: update(15) arrives before update(10).
func TestVersionRuleReorderedUpdates(t *testing.T) {
	for _, c := range []struct {
		mode common.VersionMode
		// after v2 then v1: error of v1, price
		wantErr   bool
		wantPrice float64
	}{
		{common.VersionOff, false, 10}, // stale price wins: TS13 broken
		{common.VersionStrict, true, 5},
		{common.VersionSkipApplied, true, 5},
	} {
		tg := common.Fixed()
		tg.Version = c.mode
		db := setup(t, tg)
		errV2 := tx(t, db, func(ctx context.Context, q store.Querier) error {
			return orders.OnTicketUpdated(ctx, q, tg, updated(2, 15), now)
		})
		errV1 := tx(t, db, func(ctx context.Context, q store.Querier) error {
			return orders.OnTicketUpdated(ctx, q, tg, updated(1, 10), now)
		})
		if c.mode == common.VersionOff {
			must(t, errV2)
			must(t, errV1)
			if p, v := price(t, db); p != c.wantPrice || v != 1 {
				t.Errorf("off: price %v version %d, want the stale 10 at version 1", p, v)
			}
			continue
		}
		if !errors.Is(errV2, common.ErrVersion) {
			t.Errorf("%s: early v2 → %v, want a version error (retried)", c.mode, errV2)
		}
		must(t, errV1)
		must(t, tx(t, db, func(ctx context.Context, q store.Querier) error {
			return orders.OnTicketUpdated(ctx, q, tg, updated(2, 15), now)
		}))
		if p, v := price(t, db); p != 15 || v != 2 {
			t.Errorf("%s: price %v version %d after the retry, want 15 at 2", c.mode, p, v)
		}
	}
}

// L6: a duplicate of an applied update.
func TestVersionRuleDuplicateUpdate(t *testing.T) {
	for _, c := range []struct {
		mode    common.VersionMode
		wantErr bool
	}{{common.VersionStrict, true}, {common.VersionSkipApplied, false}} {
		tg := common.Fixed()
		tg.Version = c.mode
		db := setup(t, tg)
		must(t, tx(t, db, func(ctx context.Context, q store.Querier) error {
			return orders.OnTicketUpdated(ctx, q, tg, updated(1, 10), now)
		}))
		err := tx(t, db, func(ctx context.Context, q store.Querier) error {
			return orders.OnTicketUpdated(ctx, q, tg, updated(1, 10), now)
		})
		if (err != nil) != c.wantErr {
			t.Errorf("%s: duplicate → %v, want error %v", c.mode, err, c.wantErr)
		}
	}
}

// L11: two orders for one ticket whose reservation checks both passed.
func TestReserveAtomic(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.ReserveAtomic, faithful)
		db := setup(t, tg)
		must(t, place(t, db, tg, "o1"))
		err := place(t, db, tg, "o2")
		active := tstest.Count(t, db, `SELECT COUNT(*) FROM orders WHERE ticket_id = 't1' AND status = 'created'`)
		if faithful {
			if err != nil || active != 2 {
				t.Errorf("faithful: second order → %v, %d active orders, want 2", err, active)
			}
			continue
		}
		if he, ok := errors.AsType[*common.HTTPError](err); !ok || he.Status != 400 || active != 1 {
			t.Errorf("fixed: second order → %v, %d active orders, want 400 and 1", err, active)
		}
	}
}

func cancelByUser(t *testing.T, db *store.DB, tg common.Toggles, id string) ([]common.Event, error) {
	var evs []common.Event
	err := tx(t, db, func(ctx context.Context, q store.Querier) error {
		var err error
		_, evs, err = orders.Cancel(ctx, q, tg, id, "buyer", now)
		return err
	})
	return evs, err
}

func pay(t *testing.T, db *store.DB, tg common.Toggles, id string) []common.Event {
	t.Helper()
	var evs []common.Event
	must(t, tx(t, db, func(ctx context.Context, q store.Querier) error {
		var err error
		evs, err = orders.OnPaymentCreated(ctx, q, tg, common.PaymentCreated{ID: "p1", OrderID: id, StripeID: "ch_1"}, now)
		return err
	}))
	return evs
}

// L3: DELETE of a complete order.
func TestDeleteGuards(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.DeleteGuards, faithful)
		db := setup(t, tg)
		must(t, place(t, db, tg, "o1"))
		pay(t, db, tg, "o1")
		evs, err := cancelByUser(t, db, tg, "o1")
		st := order(t, db, "o1").Status
		if faithful && (err != nil || st != common.OrderCancelled || len(evs) != 1) {
			t.Errorf("faithful: DELETE of complete → %v, status %s, %d events", err, st, len(evs))
		}
		if !faithful && (err == nil || st != common.OrderComplete || len(evs) != 0) {
			t.Errorf("fixed: DELETE of complete → %v, status %s, %d events", err, st, len(evs))
		}
	}
}

func TestCancelOwnerCheck(t *testing.T) {
	tg := common.Fixed()
	db := setup(t, tg)
	must(t, place(t, db, tg, "o1"))
	err := tx(t, db, func(ctx context.Context, q store.Querier) error {
		_, _, err := orders.Cancel(ctx, q, tg, "o1", "someone-else", now)
		return err
	})
	if !errors.Is(err, common.ErrNotAuthorized) {
		t.Errorf("another user's order: %v", err)
	}
}

// L4/L5: a second expiration:complete for a cancelled order.
func TestExpirationChecksStatus(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.ExpirationChecksStatus, faithful)
		db := setup(t, tg)
		must(t, place(t, db, tg, "o1"))
		expire := func() []common.Event {
			var evs []common.Event
			must(t, tx(t, db, func(ctx context.Context, q store.Querier) error {
				var err error
				evs, err = orders.OnExpirationComplete(ctx, q, tg, common.ExpirationComplete{OrderID: "o1"}, now)
				return err
			}))
			return evs
		}
		if evs := expire(); len(evs) != 1 || evs[0].Version != 1 {
			t.Fatalf("first expiration: %+v", evs)
		}
		evs := expire()
		if faithful != (len(evs) == 1) {
			t.Errorf("faithful=%v: second expiration published %d events", faithful, len(evs))
		}
	}
}

func TestExpirationSkipsCompleteOrderInBothModes(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.ExpirationChecksStatus, faithful)
		db := setup(t, tg)
		must(t, place(t, db, tg, "o1"))
		pay(t, db, tg, "o1")
		must(t, tx(t, db, func(ctx context.Context, q store.Querier) error {
			evs, err := orders.OnExpirationComplete(ctx, q, tg, common.ExpirationComplete{OrderID: "o1"}, now)
			if len(evs) != 0 {
				t.Errorf("faithful=%v: complete order expired: %+v", faithful, evs)
			}
			return err
		}))
	}
}

// L1 on the orders side, and L12: payment of a cancelled order; complete
// propagated or not.
func TestPaymentGuardsInOrders(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.PaymentGuards, faithful)
		db := setup(t, tg)
		must(t, place(t, db, tg, "o1"))
		evs := pay(t, db, tg, "o1")
		if faithful != (len(evs) == 0) {
			t.Errorf("faithful=%v: complete published %+v", faithful, evs)
		}
		if !faithful && (evs[0].Subject != common.SubjectOrderUpdated || evs[0].Version != 1) {
			t.Errorf("fixed: %+v, want order:updated at version 1", evs[0])
		}
		must(t, place(t, db, tg.With(common.ReserveAtomic, true), "o2"))
		_, err := cancelByUser(t, db, tg, "o2")
		must(t, err)
		pay(t, db, tg, "o2")
		st := order(t, db, "o2").Status
		if want := map[bool]common.OrderStatus{false: common.OrderCancelled, true: common.OrderComplete}[faithful]; st != want {
			t.Errorf("faithful=%v: paid cancelled order is %s, want %s", faithful, st, want)
		}
	}
}
