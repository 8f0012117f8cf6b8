package lab

import (
	"context"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/inquiries"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
)

func TestMessageKeys(t *testing.T) {
	for _, c := range []struct {
		key, kind, ticket string
		n                 int
	}{
		{communication.ClosureKey("t-1"), tfhistory.MessageClosure, "t-1", 0},
		{sla.ReminderKey("t-2", 3), tfhistory.MessageReminder, "t-2", 3},
		{sla.BreachMessageKey("t-3", 1), tfhistory.MessageBreach, "t-3", 0},
		{"reminder:t-4:x", tfhistory.MessageOther, "", 0},
		{"", tfhistory.MessageOther, "", 0},
	} {
		kind, ticket, n := messageKind(c.key)
		if kind != c.kind || ticket != c.ticket || n != c.n {
			t.Errorf("%q → %s %s %d", c.key, kind, ticket, n)
		}
	}
	if got := alertTicket(tickets.IncidentAlertKey("t-5")); got != "t-5" {
		t.Errorf("incident alert → %q", got)
	}
	if got := alertTicket(sla.BreachKey("t-6", 2)); got != "t-6" {
		t.Errorf("breach alert → %q", got)
	}
}

func TestReadSnapshotFromTheServicesDatabases(t *testing.T) {
	ctx := t.Context()
	created := time.Date(2026, 1, 5, 10, 0, 0, 123000000, time.UTC)
	inqDB, inqPath := serviceDB(t, "inquiries", inquiries.Migrations)
	if err := inqDB.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		return inquiries.NewSQLStore(tx).SaveInquiry(ctx, &inquiries.Inquiry{ID: "t-1", Name: "Ann", Email: "ann@devmentors.io",
			Title: "x", Description: "y", CreatedAt: created, Status: "Resolved", Category: "other", TicketID: "t-1", LanguageCode: "pl"})
	}); err != nil {
		t.Fatal(err)
	}
	tkDB, tkPath := serviceDB(t, "tickets", tickets.Migrations)
	deadline := created.Add(time.Minute)
	if err := tkDB.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tickets.NewSQLRepo(tx).SaveTicket(ctx, &tickets.Ticket{ID: "t-1", InquiryID: "t-1", Email: "ann@devmentors.io",
			LanguageCode: "pl", CreatedAt: created, Type: "Incident", Status: "Resolved", Severity: "Critical", Category: "other",
			TranslatedDescription: "hello", AssignedTo: "agent-1", Version: 5, DeadlineUTC: deadline, Resolution: "done"}); err != nil {
			return err
		}
		return tickets.NewSQLRepo(tx).SaveTicket(ctx, &tickets.Ticket{ID: "t-2", InquiryID: "t-2", Email: "bo@x.io",
			LanguageCode: "en", CreatedAt: created, Type: "Unknown", Status: "BeforeQualification", Severity: "Unknown", Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	slaDB, slaPath := serviceDB(t, "sla", sla.Migrations)
	rec := &sla.Record{TicketID: "t-1", ServiceType: "IncidentTicket", Severity: "Critical", Tier: "VIP", LastKnownVersion: 5,
		AgentUserID: "agent-1", HasDeadline: true, Anchor: created, Window: time.Minute, Paused: 10 * time.Second, Revision: 2,
		Completed: true, CompletedAt: created.Add(50 * time.Second)}
	rec.ReminderSent[0] = created.Add(15 * time.Second)
	if err := sla.NewSQLStore(slaDB, sla.DefaultConfig(), nil).SaveRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	comDB, comPath := serviceDB(t, "communication", communication.Migrations)
	cs := communication.NewSQLStore(comDB, true)
	for _, m := range []communication.Message{
		{ID: "m1", RecipentEmail: "ann@devmentors.io", Title: "closed", Content: "c", Timestamp: created.Add(time.Minute), IdempotencyKey: communication.ClosureKey("t-1")},
		{ID: "m2", RecipentUserID: "agent-1", Title: "r", Content: "c", Timestamp: created.Add(16 * time.Second), IdempotencyKey: sla.ReminderKey("t-1", 1)},
	} {
		if _, _, err := cs.AddMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := cs.AddAlert(ctx, communication.Alert{ID: "a1", Message: "incident", Type: "Incydent", CreatedAt: created,
		IdempotencyKey: tickets.IncidentAlertKey("t-1")}); err != nil {
		t.Fatal(err)
	}

	snap, err := ReadSnapshot(ctx, []sut.DB{
		{Service: "inquiries", Instance: "inquiries", Path: inqPath},
		{Service: "tickets", Instance: "tickets", Path: tkPath},
		{Service: "sla", Instance: "sla", Path: slaPath},
		{Service: "communication", Instance: "communication", Path: comPath},
		{Service: "translations", Instance: "translations", Path: filepath.Join(t.TempDir(), "none.sqlite")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Inquiries) != 1 || snap.Inquiries[0] != (tfhistory.Inquiry{ID: "t-1", Status: "Resolved", TicketID: "t-1",
		Email: "ann@devmentors.io", Language: "pl", CreatedAt: created}) {
		t.Errorf("inquiries %+v", snap.Inquiries)
	}
	if len(snap.Tickets) != 2 {
		t.Fatalf("tickets %+v", snap.Tickets)
	}
	tk := snap.Tickets[0]
	if tk.ID != "t-1" || tk.Version != 5 || tk.Type != "Incident" || tk.Severity != "Critical" || tk.Translation != "hello" ||
		tk.AssignedTo != "agent-1" || tk.Deadline == nil || !tk.Deadline.Equal(deadline) || !tk.CreatedAt.Equal(created) {
		t.Errorf("ticket %+v", tk)
	}
	if u := snap.Tickets[1]; u.Type != "" || u.Severity != "" || u.Deadline != nil {
		t.Errorf("unqualified ticket %+v", u)
	}
	if len(snap.Reminders) != 1 {
		t.Fatalf("reminders %+v", snap.Reminders)
	}
	r := snap.Reminders[0]
	// Effective times include the 10 s the ticket was blocked.
	if r.Deadline == nil || !r.Deadline.Equal(created.Add(70*time.Second)) || !r.FirstAt.Equal(created.Add(25*time.Second)) ||
		!r.SecondAt.Equal(created.Add(40*time.Second)) || !r.FinalAt.Equal(created.Add(64*time.Second)) {
		t.Errorf("reminder times %v %v %v %v", r.Deadline, r.FirstAt, r.SecondAt, r.FinalAt)
	}
	if !r.FirstSent || r.SecondSent || !r.Completed || r.LastKnownVersion != 5 || r.UserToRemind != "agent-1" ||
		r.ServiceType != "IncidentTicket" || !r.AnchorAt.Equal(created) || r.Paused != history.Duration(10*time.Second) {
		t.Errorf("reminder %+v", r)
	}
	if len(snap.Messages) != 2 || snap.Messages[0].Kind != tfhistory.MessageReminder || snap.Messages[0].Reminder != 1 ||
		snap.Messages[1].Kind != tfhistory.MessageClosure || snap.Messages[1].TicketID != "t-1" || snap.Messages[1].Recipient != "ann@devmentors.io" {
		t.Errorf("messages %+v", snap.Messages)
	}
	if len(snap.Alerts) != 1 || snap.Alerts[0].TicketID != "t-1" || snap.Alerts[0].Type != tfhistory.AlertIncident {
		t.Errorf("alerts %+v", snap.Alerts)
	}
}

// serviceDB creates a real service database with the service's migrations.
func serviceDB(t *testing.T, name string, m store.Migrations) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".sqlite")
	db, err := store.Open(t.Context(), store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context(), messaging.Migrations, m); err != nil {
		t.Fatal(err)
	}
	return db, path
}
