package tickets

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/store/storetest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	return storetest.Open(t, "tickets", Migrations)
}

func inTx(t *testing.T, db *store.DB, fn func(r *SQLStore) error) {
	t.Helper()
	if err := db.InTx(t.Context(), func(_ context.Context, tx *store.Tx) error { return fn(NewSQLRepo(tx)) }); err != nil {
		t.Fatal(err)
	}
}

func TestSQLStoreRoundTripsEveryField(t *testing.T) {
	db := openDB(t)
	base := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	want := &Ticket{ID: "t1", InquiryID: "t1", Name: "Jan", Email: "jan@example.pl", Title: "Faktura", Description: "Opis",
		LanguageCode: "pl", CreatedAt: base, Type: contracts.TicketType("Incident"), Status: contracts.StatusQualified,
		Severity: contracts.Severity("High"), Category: contracts.CategoryBilling, TranslatedDescription: "Text",
		Notes: "[n] x", InternalNotes: "i", AssignedTo: "a1", Version: 4, DeadlineUTC: base.Add(time.Hour),
		DeadlineRevision: 2, Resolution: "done"}
	inTx(t, db, func(r *SQLStore) error { return r.SaveTicket(t.Context(), want) })
	got, err := NewSQLQueries(db).Ticket(t.Context(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	want.Status, want.Version, want.DeadlineUTC = contracts.StatusResolved, 5, time.Time{}
	inTx(t, db, func(r *SQLStore) error { return r.SaveTicket(t.Context(), want) })
	got, _ = NewSQLQueries(db).Ticket(t.Context(), "t1")
	if got.Status != contracts.StatusResolved || got.Version != 5 || !got.DeadlineUTC.IsZero() {
		t.Fatalf("update not applied: %+v", got)
	}
	if _, err := NewSQLQueries(db).Ticket(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing ticket: %v", err)
	}
}

func TestSQLStoreListMatchesSelect(t *testing.T) {
	db := openDB(t)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var all []*Ticket
	statuses := []contracts.TicketStatus{contracts.StatusQualified, contracts.StatusBeforeQualification, contracts.StatusResolved}
	for i := range 23 {
		tk := &Ticket{ID: string(rune('a'+i%5)) + string(rune('a'+i)), Status: statuses[i%3],
			CreatedAt: base.Add(time.Duration(i%7) * time.Minute), AssignedTo: []string{"", "Agent-1", "agent-2"}[i%3]}
		all = append(all, tk)
		inTx(t, db, func(r *SQLStore) error { return r.SaveTicket(t.Context(), tk) })
	}
	q := NewSQLQueries(db)
	for _, f := range []ListFilter{{}, {Page: 2, Limit: 5}, {Page: 5, Limit: 5}, {Status: contracts.StatusResolved}, {AgentID: "agent-1"},
		{AgentID: "AGENT-2", Status: contracts.StatusResolved, Limit: 3}, {Page: 9, Limit: 10}} {
		got, total, err := q.Tickets(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTotal := Select(all, f)
		if total != wantTotal || len(got) != len(want) {
			t.Fatalf("%+v: %d of %d, want %d of %d", f, len(got), total, len(want), wantTotal)
		}
		for i := range got {
			if got[i].ID != want[i].ID {
				t.Fatalf("%+v: item %d is %s, want %s", f, i, got[i].ID, want[i].ID)
			}
		}
	}
}

func TestSQLStoreParking(t *testing.T) {
	db := openDB(t)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	inTx(t, db, func(r *SQLStore) error {
		if _, ok, err := r.Parked(t.Context(), "x"); ok || err != nil {
			t.Fatalf("empty store parked: %v %v", ok, err)
		}
		if err := r.Park(t.Context(), Parked{ReferenceID: "x", Skipped: true, ParkedAt: at}); err != nil {
			return err
		}
		return r.Park(t.Context(), Parked{ReferenceID: "x", TranslatedText: "hello", ParkedAt: at.Add(time.Second)})
	})
	p, ok, err := NewSQLQueries(db).Parked(t.Context(), "x")
	if err != nil || !ok || p != (Parked{ReferenceID: "x", TranslatedText: "hello", ParkedAt: at.Add(time.Second)}) {
		t.Fatalf("parked %+v %v %v", p, ok, err)
	}
	inTx(t, db, func(r *SQLStore) error {
		if err := r.Unpark(t.Context(), "x"); err != nil {
			return err
		}
		return r.Unpark(t.Context(), "x")
	})
	if _, ok, _ := NewSQLQueries(db).Parked(t.Context(), "x"); ok {
		t.Fatal("still parked")
	}
}

func TestSQLStoreRunsTheDeskEndToEnd(t *testing.T) {
	db := openDB(t)
	desk := NewDesk(NewDirectory())
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var events []contracts.Message
	inTx(t, db, func(r *SQLStore) error {
		if _, err := desk.HandleTranslation(t.Context(), r, "q", "Hello", false, now); err != nil {
			return err
		}
		ev, err := desk.HandleInquirySubmitted(t.Context(), r, contracts.InquirySubmitted{ID: "q", Name: "N", Email: "n@example.com",
			Description: "Dzień dobry", LanguageCode: "pl", CreatedAt: now}, now)
		events = ev
		return err
	})
	tk, err := NewSQLQueries(db).Ticket(t.Context(), "q")
	if err != nil || tk.Status != contracts.StatusBeforeQualification || tk.TranslatedDescription != "Hello" || len(events) != 1 {
		t.Fatalf("ticket %+v events %v err %v", tk, events, err)
	}
	if _, ok, _ := NewSQLQueries(db).Parked(t.Context(), "q"); ok {
		t.Fatal("parked translation not consumed")
	}
}
