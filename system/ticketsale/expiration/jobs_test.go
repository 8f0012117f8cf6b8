package expiration_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/expiration"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func ev() common.OrderCreatedEvent {
	return common.OrderCreatedEvent{ID: "o1", Status: common.OrderCreated, ExpiresAt: common.FormatTime(now.Add(time.Minute)), Ticket: common.TicketRef{ID: "t1"}}
}

// L5: a duplicate order:created.
func TestExpirationJobID(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		tg := common.Fixed().With(common.ExpirationJobID, faithful)
		db := tstest.Store(t, expiration.Migrations)
		for range 2 {
			if err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
				_, err := expiration.Schedule(ctx, q, tg, ev(), now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := expiration.Jobs(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 1, true: 2}[faithful]; len(jobs) != want {
			t.Errorf("faithful=%v: %d jobs, want %d", faithful, len(jobs), want)
		}
		if !faithful && jobs[0].ID != "o1" {
			t.Errorf("fixed: job id %s, want the order id", jobs[0].ID)
		}
	}
}

func TestJobsRunWhenDueAndOnce(t *testing.T) {
	db := tstest.Store(t, expiration.Migrations)
	if err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
		_, err := expiration.Schedule(ctx, q, common.Fixed(), ev(), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if due, _ := expiration.Due(t.Context(), db, now.Add(59*time.Second), 10); len(due) != 0 {
		t.Fatalf("due before expiresAt: %+v", due)
	}
	due, err := expiration.Due(t.Context(), db, now.Add(time.Minute), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due at expiresAt: %+v, %v", due, err)
	}
	var first, second []common.Event
	for _, out := range []*[]common.Event{&first, &second} {
		if err := tstest.InTx(t, db, func(ctx context.Context, q store.Querier) error {
			var err error
			*out, err = expiration.Complete(ctx, q, due[0], now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(first) != 1 || first[0].Payload.(common.ExpirationComplete).OrderID != "o1" || len(second) != 0 {
		t.Errorf("complete twice: %+v then %+v", first, second)
	}
}
