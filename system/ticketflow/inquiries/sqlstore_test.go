package inquiries

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
	return storetest.Open(t, "inquiries", Migrations)
}

func save(t *testing.T, db *store.DB, q *Inquiry) {
	t.Helper()
	if err := db.InTx(t.Context(), func(ctx context.Context, tx *store.Tx) error { return NewSQLStore(tx).SaveInquiry(ctx, q) }); err != nil {
		t.Fatal(err)
	}
}

func TestSQLStoreRoundTripAndNotFound(t *testing.T) {
	db := openDB(t)
	want := &Inquiry{ID: "i1", Name: "Jan", Email: "jan@example.pl", Title: "T", Description: "D",
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Status: contracts.InquiryNew, Category: contracts.CategoryBilling, LanguageCode: "pl"}
	save(t, db, want)
	got, err := NewSQLLister(db).Inquiry(t.Context(), "i1")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v, want %+v", got, err, want)
	}
	if _, err := want.LinkTicket("i1"); err != nil {
		t.Fatal(err)
	}
	save(t, db, want)
	got, _ = NewSQLLister(db).Inquiry(t.Context(), "i1")
	if got.Status != contracts.InquiryInProgress || got.TicketID != "i1" {
		t.Fatalf("update lost: %+v", got)
	}
	if _, err := NewSQLLister(db).Inquiry(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestSQLStorePagingMatchesPage(t *testing.T) {
	db := openDB(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []*Inquiry
	for i := range 17 {
		q := &Inquiry{ID: string(rune('z' - i)), CreatedAt: base.Add(time.Duration(i%4) * time.Second), Status: contracts.InquiryNew, Category: contracts.CategoryOther}
		all = append(all, q)
		save(t, db, q)
	}
	for _, pl := range [][2]int{{1, 10}, {2, 10}, {3, 5}, {4, 5}, {9, 25}} {
		got, total, err := NewSQLLister(db).Inquiries(t.Context(), pl[0], pl[1])
		if err != nil {
			t.Fatal(err)
		}
		want, wantTotal := Page(all, pl[0], pl[1])
		if total != wantTotal || len(got) != len(want) {
			t.Fatalf("page %v: %d of %d, want %d of %d", pl, len(got), total, len(want), wantTotal)
		}
		for i := range got {
			if got[i].ID != want[i].ID {
				t.Fatalf("page %v item %d: %s, want %s", pl, i, got[i].ID, want[i].ID)
			}
		}
	}
}

func TestSQLStoreUnderTheDomainHandlers(t *testing.T) {
	db := openDB(t)
	intake, err := NewIntake()
	if err != nil {
		t.Fatal(err)
	}
	intake.NewID = func() string { return "q1" }
	var msgs []contracts.Message
	err = db.InTx(t.Context(), func(ctx context.Context, tx *store.Tx) error {
		_, m, err := intake.Submit(ctx, NewSQLStore(tx), SubmitRequest{Name: "Jan", Email: "jan@example.pl", Title: "Problem z fakturą",
			Description: "Dzień dobry, nie mogę pobrać faktury za ostatni miesiąc, proszę o pomoc."}, time.Now())
		msgs = m
		return err
	})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("submit: %v, %d messages", err, len(msgs))
	}
	for _, step := range []func(ctx context.Context, st Store) (bool, error){
		func(ctx context.Context, st Store) (bool, error) {
			return HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: "q1", InquiryID: "q1"})
		},
		func(ctx context.Context, st Store) (bool, error) {
			return HandleTicketResolved(ctx, st, contracts.TicketResolved{TicketID: "q1"})
		},
	} {
		if err := db.InTx(t.Context(), func(ctx context.Context, tx *store.Tx) error { _, err := step(ctx, NewSQLStore(tx)); return err }); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := NewSQLLister(db).Inquiry(t.Context(), "q1")
	if q.Status != contracts.InquiryResolved || q.TicketID != "q1" || q.LanguageCode != "pl" {
		t.Fatalf("inquiry %+v", q)
	}
}
