package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func created() common.OrderCreatedEvent {
	return common.OrderCreatedEvent{ID: "o1", Status: common.OrderCreated, UserID: "buyer",
		ExpiresAt: common.FormatTime(now.Add(time.Minute)), Ticket: common.TicketRef{ID: "t1", Price: 20}}
}

func setup(t *testing.T, tg common.Toggles) *store.DB {
	t.Helper()
	db := tstest.Store(t, payments.Migrations)
	must(t, tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		return payments.OnOrderCreated(ctx, q, tg, created(), now)
	}))
	return db
}

func replica(t *testing.T, db *store.DB) *payments.Order {
	t.Helper()
	o, err := payments.GetOrder(t.Context(), db, "o1")
	if err != nil || o == nil {
		t.Fatalf("replica: %v %v", o, err)
	}
	return o
}

func record(t *testing.T, db *store.DB, tg common.Toggles, id string) []common.Event {
	t.Helper()
	var evs []common.Event
	must(t, tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		var err error
		_, evs, err = payments.Record(ctx, q, tg, payments.Payment{ID: id, OrderID: "o1", StripeID: "ch_" + id}, now)
		return err
	}))
	return evs
}

func cancel(t *testing.T, db *store.DB, tg common.Toggles, v int64) error {
	return tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		return payments.OnOrderCancelled(ctx, q, tg, common.OrderCancelledEvent{ID: "o1", Version: v, Ticket: common.TicketRef{ID: "t1"}}, now)
	})
}

func TestCreateIdempotentDuplicateOrderCreated(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.CreateIdempotent, faithful)
		db := setup(t, tg)
		err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
			return payments.OnOrderCreated(ctx, q, tg, created(), now)
		})
		if faithful == (err == nil) {
			t.Errorf("faithful=%v: duplicate order:created → %v", faithful, err)
		}
	}
}

func TestVersionRuleOnCancellation(t *testing.T) {
	for _, c := range []struct {
		mode                 common.VersionMode
		earlyErr, duplicated bool
	}{
		{common.VersionOff, false, false},
		{common.VersionStrict, true, true},
		{common.VersionSkipApplied, true, false},
	} {
		tg := common.Fixed()
		tg.Version = c.mode
		db := setup(t, tg)
		if err := cancel(t, db, tg, 2); (err != nil) != c.earlyErr {
			t.Errorf("%s: version 2 on replica 0 → %v", c.mode, err)
		}
		if c.mode == common.VersionOff {
			continue
		}
		must(t, cancel(t, db, tg, 1))
		if o := replica(t, db); o.Status != common.OrderCancelled || o.Version != 1 {
			t.Errorf("%s: replica %+v", c.mode, o)
		}
		if err := cancel(t, db, tg, 1); (err != nil) != c.duplicated {
			t.Errorf("%s: duplicate cancellation → %v", c.mode, err)
		}
	}
}

func TestOrderUpdatedReachesReplica(t *testing.T) {
	tg := common.Fixed()
	db := setup(t, tg)
	must(t, tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		return payments.OnOrderUpdated(ctx, q, tg, common.OrderUpdatedEvent{ID: "o1", Version: 1, Status: common.OrderComplete}, now)
	}))
	if o := replica(t, db); o.Status != common.OrderComplete || o.Version != 1 {
		t.Errorf("replica %+v, want complete at 1", o)
	}
}

func checkPayable(t *testing.T, db *store.DB, tg common.Toggles, at time.Time) error {
	t.Helper()
	return payments.CheckPayable(t.Context(), db, tg, replica(t, db), "buyer", at)
}

// L2 and L1 at the gate: a second payment, a late payment.
func TestPaymentGuards(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.PaymentGuards, faithful)
		db := setup(t, tg)
		must(t, checkPayable(t, db, tg, now))
		late := checkPayable(t, db, tg, now.Add(2*time.Minute))
		if faithful != (late == nil) {
			t.Errorf("faithful=%v: paying after expiresAt → %v", faithful, late)
		}
		if evs := record(t, db, tg, "p1"); len(evs) != 1 {
			t.Fatalf("first payment: %+v", evs)
		}
		second := checkPayable(t, db, tg, now)
		if faithful != (second == nil) {
			t.Errorf("faithful=%v: second payment → %v", faithful, second)
		}
		evs := record(t, db, tg, "p2")
		n := tstest.Count(t, db, `SELECT COUNT(*) FROM payments WHERE order_id = 'o1'`)
		if faithful && (len(evs) != 1 || n != 2) || !faithful && (len(evs) != 0 || n != 1) {
			t.Errorf("faithful=%v: a second record gave %d events, %d payments", faithful, len(evs), n)
		}
	}
}

func TestCheckPayableCourseChecks(t *testing.T) {
	tg := common.Faithful()
	db := setup(t, tg)
	if err := payments.CheckPayable(t.Context(), db, tg, nil, "buyer", now); !errors.Is(err, common.ErrNotFoundHTTP) {
		t.Errorf("unknown order: %v", err)
	}
	if err := payments.CheckPayable(t.Context(), db, tg, replica(t, db), "other", now); !errors.Is(err, common.ErrNotAuthorized) {
		t.Errorf("another user's order: %v", err)
	}
	must(t, cancel(t, db, tg, 1))
	if err := checkPayable(t, db, tg, now); err == nil {
		t.Error("a cancelled order was payable")
	}
}

// L1 aftermath: the cancellation arrives after the payment.
func TestPaymentGuardsRefundChargeOfCancelledOrder(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.PaymentGuards, faithful)
		db := setup(t, tg)
		record(t, db, tg, "p1")
		must(t, cancel(t, db, tg, 1))
		pending, err := payments.PendingRefunds(t.Context(), db)
		must(t, err)
		if faithful != (len(pending) == 0) {
			t.Errorf("faithful=%v: %d refunds queued", faithful, len(pending))
		}
	}
}
