package tickets

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func inquiry(id, lang string) contracts.InquirySubmitted {
	return contracts.InquirySubmitted{ID: id, Name: "Jan", Email: "jan@example.com", Title: "Login",
		Description: "Nie mogę się zalogować", Category: contracts.CategoryTechnical, LanguageCode: lang, CreatedAt: t0}
}

func TestInquirySubmittedIsIdempotent(t *testing.T) {
	ctx, repo, desk := t.Context(), newMemRepo(), NewDesk(NewDirectory())
	ev, err := desk.HandleInquirySubmitted(ctx, repo, inquiry("a", "en"), t0.Add(time.Second))
	if err != nil || !reflect.DeepEqual(types(ev), []string{contracts.TypeTicketCreated}) {
		t.Fatalf("first: %v %v", types(ev), err)
	}
	tk, _ := repo.Ticket(ctx, "a")
	if !tk.CreatedAt.Equal(t0) {
		t.Fatalf("ticket created at %v, want the inquiry's time %v", tk.CreatedAt, t0)
	}
	ev, err = desk.HandleInquirySubmitted(ctx, repo, inquiry("a", "en"), t0.Add(time.Minute))
	if err != nil || len(ev) != 0 {
		t.Fatalf("redelivery created again: %v %v", types(ev), err)
	}
}

// The race of spec §5.2: the translation overtakes InquirySubmitted.
func TestTranslationBeforeTicketIsParkedAndAttachedOnCreation(t *testing.T) {
	ctx, repo, desk := t.Context(), newMemRepo(), NewDesk(NewDirectory())
	out, err := desk.HandleTranslation(ctx, repo, "a", "I cannot log in", false, t0)
	if err != nil || out != TranslationParked {
		t.Fatalf("park: %v %v", out, err)
	}
	if _, ok, _ := repo.Parked(ctx, "a"); !ok {
		t.Fatal("not parked")
	}
	if _, err := desk.HandleInquirySubmitted(ctx, repo, inquiry("a", "pl"), t0); err != nil {
		t.Fatal(err)
	}
	tk, err := repo.Ticket(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != contracts.StatusBeforeQualification || tk.TranslatedDescription != "I cannot log in" {
		t.Fatalf("ticket %s %q", tk.Status, tk.TranslatedDescription)
	}
	if _, ok, _ := repo.Parked(ctx, "a"); ok {
		t.Fatal("parked translation not removed after use")
	}
}

func TestTranslationOutcomes(t *testing.T) {
	ctx, desk := t.Context(), NewDesk(NewDirectory())

	repo := newMemRepo()
	if _, err := desk.HandleInquirySubmitted(ctx, repo, inquiry("a", "pl"), t0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		text    string
		skipped bool
		want    TranslationOutcome
		status  contracts.TicketStatus
	}{
		{"I cannot log in", false, TranslationAttached, contracts.StatusBeforeQualification},
		{"I cannot log in", false, TranslationUnchanged, contracts.StatusBeforeQualification}, // duplicate
		{"", true, TranslationUnchanged, contracts.StatusBeforeQualification},
	}
	for i, s := range steps {
		got, err := desk.HandleTranslation(ctx, repo, "a", s.text, s.skipped, t0)
		if err != nil || got != s.want {
			t.Fatalf("step %d: %v %v, want %v", i, got, err, s.want)
		}
		if tk, _ := repo.Ticket(ctx, "a"); tk.Status != s.status {
			t.Fatalf("step %d: status %s", i, tk.Status)
		}
	}

	// A skip arriving first is parked as a skip: the ticket does not wait.
	repo = newMemRepo()
	if got, _ := desk.HandleTranslation(ctx, repo, "b", "", true, t0); got != TranslationParked {
		t.Fatalf("skip before ticket: %v", got)
	}
	if _, err := desk.HandleInquirySubmitted(ctx, repo, inquiry("b", "pl"), t0); err != nil {
		t.Fatal(err)
	}
	if tk, _ := repo.Ticket(ctx, "b"); tk.Status != contracts.StatusBeforeQualification || tk.TranslatedDescription != "" {
		t.Fatalf("after parked skip: %s %q", tk.Status, tk.TranslatedDescription)
	}

	// A skip never replaces a parked real translation.
	repo = newMemRepo()
	_, _ = desk.HandleTranslation(ctx, repo, "c", "real", false, t0)
	if got, _ := desk.HandleTranslation(ctx, repo, "c", "", true, t0); got != TranslationKept {
		t.Fatalf("skip over real: %v", got)
	}
	if p, _, _ := repo.Parked(ctx, "c"); p.TranslatedText != "real" || p.Skipped {
		t.Fatalf("parked = %+v", p)
	}

	if _, err := desk.HandleTranslation(ctx, repo, " ", "x", false, t0); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty reference: %v", err)
	}
}

func TestHandleDeadlines(t *testing.T) {
	ctx, repo, desk := t.Context(), newMemRepo(), NewDesk(NewDirectory())
	m := contracts.DeadlinesCalculated{ServiceType: contracts.ServiceIncidentTicket, ServiceSourceID: "a", DeadlineUTC: t0.Add(time.Hour), Revision: 1}
	if _, err := desk.HandleDeadlines(ctx, repo, m); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown ticket: %v", err)
	}
	if _, err := desk.HandleInquirySubmitted(ctx, repo, inquiry("a", "en"), t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := desk.HandleDeadlines(ctx, repo, m); !ok || err != nil {
		t.Fatalf("apply: %v %v", ok, err)
	}
	if ok, _ := desk.HandleDeadlines(ctx, repo, m); ok {
		t.Fatal("duplicate applied")
	}
	if ok, _ := desk.HandleDeadlines(ctx, repo, contracts.DeadlinesCalculated{ServiceType: "Invoice", ServiceSourceID: "a", Revision: 9}); ok {
		t.Fatal("non-ticket service type applied")
	}
	tk, _ := repo.Ticket(ctx, "a")
	if !tk.DeadlineUTC.Equal(m.DeadlineUTC) || tk.DeadlineRevision != 1 {
		t.Fatalf("deadline %v rev %d", tk.DeadlineUTC, tk.DeadlineRevision)
	}
}

func TestExecuteCommands(t *testing.T) {
	ctx, repo, desk := t.Context(), newMemRepo(), NewDesk(NewDirectory())
	if _, err := desk.HandleInquirySubmitted(ctx, repo, inquiry("a", "en"), t0); err != nil {
		t.Fatal(err)
	}
	agent := SeedAgents()[2]
	cmds := []struct {
		cmd     Command
		want    []string
		wantErr error
	}{
		{Assign("a", agent.ID), nil, ErrInvalidTransition},
		{Qualify("a", contracts.TypeIncident, contracts.SeverityHigh), []string{contracts.TypeTicketQualified, contracts.TypeIncidentCreated}, nil},
		{Assign("a", "no-such-agent"), nil, ErrInvalidInput},
		{Assign("a", agent.ID), []string{contracts.TypeAgentAssignedToTicket}, nil},
		{Resolve("a", "fixed"), []string{contracts.TypeTicketResolved}, nil},
		{Resolve("a", "fixed again"), nil, ErrAlreadyResolved},
		{Qualify("missing", contracts.TypeIncident, contracts.SeverityHigh), nil, ErrNotFound},
		{CreateTicket(FromInquiry(inquiry("a", "en"))), nil, ErrInvalidInput},
		{CreateTicket(NewTicketData{ID: "s", Name: "N", Email: "n@example.com", Description: "d", LanguageCode: "pl", TranslatedDescription: "t"}), []string{contracts.TypeTicketCreated}, nil},
	}
	for i, c := range cmds {
		ev, err := desk.Execute(ctx, repo, c.cmd, t0)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("%d %s: err %v, want %v", i, c.cmd.Name, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(types(ev), c.want) {
			t.Fatalf("%d %s: %v %v, want %v", i, c.cmd.Name, types(ev), err, c.want)
		}
	}
	tk, _ := repo.Ticket(ctx, "a")
	if tk.InternalNotes != "RESOLVED BY: "+agent.FullName {
		t.Fatalf("notes %q", tk.InternalNotes)
	}
	s, _ := repo.Ticket(ctx, "s")
	if s.Status != contracts.StatusBeforeQualification {
		t.Fatalf("sync-created ticket with translation is %s", s.Status)
	}
}
