package tickets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) *store.DB {
	t.Helper()
	db := tstest.Store(t, tickets.Migrations)
	if err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		_, err := tickets.Create(ctx, q, tickets.Ticket{ID: "t1", Title: "concert", Price: 20, UserID: "seller"}, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func created(id string) common.OrderCreatedEvent {
	return common.OrderCreatedEvent{ID: id, Status: common.OrderCreated, UserID: "buyer", Ticket: common.TicketRef{ID: "t1", Price: 20}}
}

func cancelled(id string, v int64) common.OrderCancelledEvent {
	return common.OrderCancelledEvent{ID: id, Version: v, Ticket: common.TicketRef{ID: "t1"}}
}

func get(t *testing.T, db *store.DB) *tickets.Ticket {
	t.Helper()
	tk, err := tickets.Get(t.Context(), db, "t1")
	if err != nil || tk == nil {
		t.Fatalf("ticket: %v, %v", tk, err)
	}
	return tk
}

func onCreated(t *testing.T, db *store.DB, tg common.Toggles, ev common.OrderCreatedEvent) []common.Event {
	t.Helper()
	var out []common.Event
	if err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		var err error
		out, err = tickets.OnOrderCreated(ctx, q, tg, ev, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func onCancelled(t *testing.T, db *store.DB, tg common.Toggles, ev common.OrderCancelledEvent) []common.Event {
	t.Helper()
	var out []common.Event
	if err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		var err error
		out, err = tickets.OnOrderCancelled(ctx, q, tg, ev, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOrderCreatedReservesAndPublishesTicketUpdated(t *testing.T) {
	db := setup(t)
	out := onCreated(t, db, common.Fixed(), created("o1"))
	if tk := get(t, db); tk.OrderID != "o1" || tk.Version != 1 {
		t.Fatalf("ticket = %+v, want held by o1 at version 1", tk)
	}
	if len(out) != 1 || out[0].Subject != common.SubjectTicketUpdated || out[0].Payload.(common.TicketUpdated).OrderID != "o1" || out[0].Version != 1 {
		t.Errorf("events = %+v", out)
	}
}

func TestCreateIdempotentDuplicateOrderCreated(t *testing.T) {
	for _, c := range []struct {
		faithful    bool
		wantVersion int64
		wantEvents  int
	}{{false, 1, 0}, {true, 2, 1}} {
		db := setup(t)
		tg := common.Fixed().With(common.CreateIdempotent, c.faithful)
		onCreated(t, db, tg, created("o1"))
		out := onCreated(t, db, tg, created("o1"))
		if tk := get(t, db); tk.Version != c.wantVersion || len(out) != c.wantEvents {
			t.Errorf("faithful=%v: duplicate left version %d and %d events, want %d and %d", c.faithful, tk.Version, len(out), c.wantVersion, c.wantEvents)
		}
	}
}

// L4: order A cancelled, B reserved, then a late or duplicate
// order:cancelled of A arrives.
func TestCancelChecksOrderIDStaleCancellation(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		db := setup(t)
		tg := common.Fixed().With(common.CancelChecksOrderID, faithful)
		onCreated(t, db, tg, created("A"))
		onCancelled(t, db, tg, cancelled("A", 1))
		onCreated(t, db, tg, created("B"))
		onCancelled(t, db, tg, cancelled("A", 1))
		tk := get(t, db)
		if want := map[bool]string{false: "B", true: ""}[faithful]; tk.OrderID != want {
			t.Errorf("faithful=%v: ticket held by %q, want %q", faithful, tk.OrderID, want)
		}
	}
}

// L7: order:cancelled overtakes order:created of the same order.
func TestCancelChecksOrderIDReorderedCancellation(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		db := setup(t)
		tg := common.Fixed().With(common.CancelChecksOrderID, faithful)
		onCancelled(t, db, tg, cancelled("A", 1))
		onCreated(t, db, tg, created("A"))
		tk := get(t, db)
		if want := map[bool]string{false: "", true: "A"}[faithful]; tk.OrderID != want {
			t.Errorf("faithful=%v: ticket held by %q, want %q", faithful, tk.OrderID, want)
		}
	}
}

func TestUpdateRules(t *testing.T) {
	db := setup(t)
	upd := func(user string) error {
		return tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
			_, _, err := tickets.Update(ctx, q, "t1", user, "new", 30, now)
			return err
		})
	}
	if err := upd("intruder"); !errors.Is(err, common.ErrNotAuthorized) {
		t.Errorf("another user's ticket: %v", err)
	}
	if err := upd("seller"); err != nil {
		t.Fatal(err)
	}
	onCreated(t, db, common.Fixed(), created("o1"))
	err := upd("seller")
	if he, ok := errors.AsType[*common.HTTPError](err); !ok || he.Status != 400 || he.Items[0].Message != "Cannot edit a reserved ticket" {
		t.Errorf("reserved ticket: %v", err)
	}
	if n := tstest.Count(t, db, `SELECT COUNT(*) FROM writes WHERE entity = 'ticket' AND id = 't1'`); n != 3 {
		t.Errorf("write log has %d rows, want 3 (create, update, reserve)", n)
	}
}

func TestOrderEventForUnknownTicketIsRetried(t *testing.T) {
	db := tstest.Store(t, tickets.Migrations)
	err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		_, err := tickets.OnOrderCreated(ctx, q, common.Fixed(), created("o1"), now)
		return err
	})
	if !errors.Is(err, common.ErrNotFound) {
		t.Errorf("unknown ticket: %v, want ErrNotFound", err)
	}
}
