package communication

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/store/storetest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	return storetest.Open(t, "communication", Migrations)
}

// inTx runs fn on a store bound to one real transaction.
func inTx(t *testing.T, db *store.DB, idempotent bool, fn func(ctx context.Context, st *SQLStore) error) {
	t.Helper()
	if err := db.InTx(t.Context(), func(ctx context.Context, tx *store.Tx) error {
		return fn(ctx, NewSQLStore(tx, idempotent))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSQLStoreKeepsOneRowPerKeyOnlyWhenIdempotent(t *testing.T) {
	resolved := contracts.TicketResolved{TicketID: "t1", Version: 5, Email: "anna@example.com", Resolution: "fixed"}
	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprintf("idempotent=%v", idempotent), func(t *testing.T) {
			db := openDB(t)
			var inserted []bool
			for i := range 3 {
				inTx(t, db, idempotent, func(ctx context.Context, st *SQLStore) error {
					ok, err := HandleTicketResolved(ctx, st, resolved, fmt.Sprintf("m%d", i), t0.Add(time.Duration(i)*time.Second))
					inserted = append(inserted, ok)
					return err
				})
				inTx(t, db, idempotent, func(ctx context.Context, st *SQLStore) error {
					body := `{"alertMessageContent":"SLA!","alertType":"SLA","alertKey":"breach:t1:1"}`
					_, err := HandleAlert(ctx, st, []byte(body), "amqp-id", fmt.Sprintf("a%d", i), t0)
					return err
				})
			}
			st := NewSQLStore(db, idempotent)
			msgs, total, err := st.Messages(t.Context(), MessageFilter{Anonymous: true, Page: 1, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			dups, err := st.DuplicateKeys(t.Context(), "messages")
			if err != nil {
				t.Fatal(err)
			}
			alertDups, err := st.DuplicateKeys(t.Context(), "alerts")
			if err != nil {
				t.Fatal(err)
			}
			if idempotent {
				if total != 1 || msgs[0].ID != "m0" || msgs[0].IdempotencyKey != "closure:t1" || !reflect.DeepEqual(inserted, []bool{true, false, false}) {
					t.Fatalf("idempotent store: total %d msgs %+v inserted %v", total, msgs, inserted)
				}
				if len(dups) != 0 || len(alertDups) != 0 {
					t.Fatalf("duplicates %v %v", dups, alertDups)
				}
				// The repeated key answers the id of the stored row.
				inTx(t, db, true, func(ctx context.Context, st *SQLStore) error {
					id, ok, err := st.AddMessage(ctx, Message{ID: "other", Title: "x", Content: "y", Timestamp: t0, IdempotencyKey: "closure:t1"})
					if id != "m0" || ok || err != nil {
						t.Errorf("repeated key: id %q inserted %v err %v", id, ok, err)
					}
					return nil
				})
				return
			}
			if total != 3 || !reflect.DeepEqual(inserted, []bool{true, true, true}) {
				t.Fatalf("unprotected store: total %d inserted %v", total, inserted)
			}
			if want := []KeyCount{{"closure:t1", 3}}; !reflect.DeepEqual(dups, want) {
				t.Fatalf("duplicate keys %v, want %v", dups, want)
			}
			if want := []KeyCount{{"breach:t1:1", 3}}; !reflect.DeepEqual(alertDups, want) {
				t.Fatalf("duplicate alert keys %v, want %v", alertDups, want)
			}
		})
	}
}

// TestSQLStoreQueriesMatchTheReference compares the SQL queries with the
// reference semantics (SelectMessages, SelectAlerts) on seeded random data.
func TestSQLStoreQueriesMatchTheReference(t *testing.T) {
	db := openDB(t)
	rnd := rand.New(rand.NewPCG(7, 11))
	var msgs []Message
	var alerts []Alert
	users := []string{"", "", "agent-1", "agent-2"}
	inTx(t, db, true, func(ctx context.Context, st *SQLStore) error {
		for i := range 60 {
			m := Message{ID: fmt.Sprintf("m%02d", i), RecipentUserID: users[rnd.IntN(len(users))], Title: "t", Content: "c",
				Timestamp: t0.Add(time.Duration(rnd.IntN(20)) * time.Second), IsRead: rnd.IntN(3) == 0}
			if m.RecipentUserID == "" {
				m.RecipentEmail = "c@example.com"
			}
			if _, _, err := st.AddMessage(ctx, m); err != nil {
				return err
			}
			msgs = append(msgs, m)
			a := Alert{ID: fmt.Sprintf("a%02d", i), Message: "m", Type: contracts.AlertSLA,
				CreatedAt: t0.Add(time.Duration(rnd.IntN(20)) * time.Second), IsRead: rnd.IntN(2) == 0}
			if _, _, err := st.AddAlert(ctx, a); err != nil {
				return err
			}
			alerts = append(alerts, a)
		}
		return nil
	})
	st := NewSQLStore(db, true)
	ids := func(ms []Message) (out []string) {
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	for _, f := range []MessageFilter{
		{Anonymous: true, Page: 1, Limit: 10}, {Anonymous: true, Page: 3, Limit: 7, OnlyUnread: true},
		{UserID: "agent-1", Page: 1, Limit: 100}, {UserID: "agent-2", Page: 2, Limit: 5, OnlyUnread: true},
		{UserID: "nobody", Page: 1, Limit: 10}, {Anonymous: true, Page: 50, Limit: 10},
	} {
		got, total, err := st.Messages(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTotal := SelectMessages(msgs, f)
		if total != wantTotal || !reflect.DeepEqual(ids(got), ids(want)) {
			t.Errorf("%+v: got %v (%d), want %v (%d)", f, ids(got), total, ids(want), wantTotal)
		}
	}
	for _, only := range []bool{false, true} {
		got, err := st.Alerts(t.Context(), only, AlertLimit)
		if err != nil {
			t.Fatal(err)
		}
		want := SelectAlerts(alerts, only, AlertLimit)
		if len(got) != len(want) {
			t.Fatalf("alerts onlyUnread=%v: %d, want %d", only, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || !got[i].CreatedAt.Equal(want[i].CreatedAt) {
				t.Errorf("alerts onlyUnread=%v [%d]: %+v, want %+v", only, i, got[i], want[i])
			}
		}
	}
}

func TestSQLStoreSetRead(t *testing.T) {
	db := openDB(t)
	inTx(t, db, true, func(ctx context.Context, st *SQLStore) error {
		_, _, err := st.AddMessage(ctx, Message{ID: "m1", RecipentUserID: "agent-1", Title: "t", Content: "c", Timestamp: t0})
		if err != nil {
			return err
		}
		_, _, err = st.AddAlert(ctx, Alert{ID: "a1", Message: "m", Type: contracts.AlertIncident, CreatedAt: t0})
		return err
	})
	st := NewSQLStore(db, true)
	if err := st.SetMessageRead(t.Context(), "m1", true); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAlertRead(t.Context(), "a1", true); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMessageRead(t.Context(), "nope", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
	if err := st.SetAlertRead(t.Context(), "nope", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown alert: %v", err)
	}
	unread, total, err := st.Messages(t.Context(), MessageFilter{UserID: "agent-1", OnlyUnread: true, Page: 1, Limit: 10})
	if err != nil || total != 0 || len(unread) != 0 {
		t.Fatalf("unread after SetMessageRead: %v %d %v", unread, total, err)
	}
	as, err := st.Alerts(t.Context(), false, 10)
	if err != nil || len(as) != 1 || !as[0].IsRead || as[0].Type != contracts.AlertIncident {
		t.Fatalf("alerts after SetAlertRead: %+v %v", as, err)
	}
}
