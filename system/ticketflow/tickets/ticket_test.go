package tickets

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var t0 = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

func data(lang string) NewTicketData {
	return NewTicketData{ID: "11111111-1111-1111-1111-111111111111", Name: "Jan Kowalski", Email: "jan@devmentors.io",
		Title: "Login", Description: "Nie mogę się zalogować", Category: contracts.CategoryTechnical, LanguageCode: lang}
}

func types(ms []contracts.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MessageType())
	}
	return out
}

func versions(ms []contracts.Message) []int {
	var out []int
	for _, m := range ms {
		out = append(out, m.(contracts.Versioned).AggregateVersion())
	}
	return out
}

func TestCreateStartsInTheRightStatus(t *testing.T) {
	tests := []struct {
		name       string
		lang       string
		parked     *Parked
		wantStatus contracts.TicketStatus
		wantText   string
	}{
		{"english", "en", nil, contracts.StatusBeforeQualification, ""},
		{"polish waits for translation", "pl", nil, contracts.StatusWaitingForScheduledAction, ""},
		{"parked translation attached", "pl", &Parked{ReferenceID: "x", TranslatedText: "I cannot log in"}, contracts.StatusBeforeQualification, "I cannot log in"},
		{"parked skip stops waiting", "pl", &Parked{ReferenceID: "x", Skipped: true}, contracts.StatusBeforeQualification, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := Create(data(tt.lang), tt.parked, t0)
			if err != nil {
				t.Fatal(err)
			}
			if tk.Status != tt.wantStatus || tk.TranslatedDescription != tt.wantText {
				t.Fatalf("status %s text %q", tk.Status, tk.TranslatedDescription)
			}
			ev := tk.TakeEvents()
			if len(ev) != 1 {
				t.Fatalf("events %v", types(ev))
			}
			tc := ev[0].(contracts.TicketCreated)
			if tc.Version != 1 || tc.ID != tk.ID || tc.InquiryID != tk.ID || tc.PartitionKey != tk.ID || tc.Status != tt.wantStatus {
				t.Fatalf("TicketCreated = %+v", tc)
			}
			if tk.TakeEvents() != nil {
				t.Fatal("TakeEvents did not clear")
			}
		})
	}
}

func TestCreateValidates(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*NewTicketData)
		want string
	}{
		{"no id", func(d *NewTicketData) { d.ID = "" }, "id"},
		{"no email", func(d *NewTicketData) { d.Email = " " }, "email"},
		{"bad email", func(d *NewTicketData) { d.Email = "not-an-address" }, "not a valid address"},
		{"no description", func(d *NewTicketData) { d.Description = "" }, "description"},
		{"no language", func(d *NewTicketData) { d.LanguageCode = "" }, "languageCode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := data("en")
			tt.mod(&d)
			_, err := Create(d, nil, t0)
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want invalid input mentioning %q", err, tt.want)
			}
		})
	}
}

// inStatus builds a ticket in the given status through legal transitions.
func inStatus(t *testing.T, st contracts.TicketStatus, assigned bool) *Ticket {
	t.Helper()
	lang := "en"
	if st == contracts.StatusWaitingForScheduledAction {
		lang = "pl"
	}
	tk, err := Create(data(lang), nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	agent := SeedAgents()[1]
	steps := map[contracts.TicketStatus][]func() error{
		contracts.StatusQualified: {func() error { return tk.Qualify(contracts.TypeQuestion, contracts.SeverityLow) }},
		contracts.StatusBlocked:   {func() error { return tk.Qualify(contracts.TypeQuestion, contracts.SeverityLow) }, func() error { return tk.Block("waiting for customer") }},
		contracts.StatusResolved:  {func() error { return tk.Resolve("done", Agent{}) }},
	}
	for _, s := range steps[st] {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	if assigned {
		if err := tk.Assign(agent); err != nil {
			t.Fatal(err)
		}
	}
	tk.TakeEvents()
	if tk.Status != st {
		t.Fatalf("built %s, want %s", tk.Status, st)
	}
	return tk
}

func TestStateMachine(t *testing.T) {
	agent := SeedAgents()[2]
	ops := map[string]func(*Ticket) error{
		"qualify":   func(tk *Ticket) error { return tk.Qualify(contracts.TypeIncident, contracts.SeverityHigh) },
		"assign":    func(tk *Ticket) error { return tk.Assign(agent) },
		"block":     func(tk *Ticket) error { return tk.Block("r") },
		"unblock":   func(tk *Ticket) error { return tk.Unblock("r") },
		"resolve":   func(tk *Ticket) error { return tk.Resolve("fixed", agent) },
		"translate": func(tk *Ticket) error { _, err := tk.AttachTranslation("text", false); return err },
	}
	W, B, Q, K, R := contracts.StatusWaitingForScheduledAction, contracts.StatusBeforeQualification, contracts.StatusQualified, contracts.StatusBlocked, contracts.StatusResolved
	tests := []struct {
		from     contracts.TicketStatus
		assigned bool
		op       string
		wantErr  error // nil = allowed
		to       contracts.TicketStatus
	}{
		{W, false, "qualify", ErrInvalidTransition, W},
		{W, false, "assign", ErrInvalidTransition, W},
		{W, false, "block", ErrInvalidTransition, W},
		{W, false, "translate", nil, B},
		{W, false, "resolve", nil, R},
		{B, false, "qualify", nil, Q},
		{B, false, "assign", ErrInvalidTransition, B},
		{B, false, "block", ErrInvalidTransition, B},
		{B, false, "unblock", ErrInvalidTransition, B},
		{B, false, "translate", nil, B},
		{B, false, "resolve", nil, R},
		{Q, false, "qualify", ErrInvalidTransition, Q},
		{Q, false, "assign", nil, Q},
		{Q, true, "assign", ErrAlreadyAssigned, Q},
		{Q, false, "block", nil, K},
		{Q, false, "unblock", ErrInvalidTransition, Q},
		{Q, false, "translate", nil, Q}, // a late or duplicate translation does not un-qualify
		{Q, true, "resolve", nil, R},
		{K, false, "assign", nil, K},
		{K, false, "block", ErrInvalidTransition, K},
		{K, false, "unblock", nil, Q},
		{K, false, "qualify", ErrInvalidTransition, K},
		{K, false, "resolve", nil, R},
		{R, false, "resolve", ErrAlreadyResolved, R},
		{R, false, "qualify", ErrInvalidTransition, R},
		{R, false, "assign", ErrInvalidTransition, R},
		{R, false, "block", ErrInvalidTransition, R},
		{R, false, "unblock", ErrInvalidTransition, R},
		{R, false, "translate", ErrInvalidTransition, R},
	}
	for _, tt := range tests {
		name := string(tt.from) + "/" + tt.op
		if tt.assigned {
			name += "/assigned"
		}
		t.Run(name, func(t *testing.T) {
			tk := inStatus(t, tt.from, tt.assigned)
			v := tk.Version
			err := ops[tt.op](tk)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var de *DomainError
				if !errors.As(err, &de) || de.StatusCode() != 400 || de.Error() == "" {
					t.Fatalf("error %v is not a 400 domain error with a message", err)
				}
				if tk.Version != v || len(tk.TakeEvents()) != 0 {
					t.Fatal("a rejected command changed the version or recorded events")
				}
			}
			if tk.Status != tt.to {
				t.Fatalf("status = %s, want %s", tk.Status, tt.to)
			}
		})
	}
}

func TestEveryEventBumpsTheVersionByOne(t *testing.T) {
	tk, err := Create(data("pl"), nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	agents := SeedAgents()
	steps := []func() error{
		func() error { _, err := tk.AttachTranslation("I cannot log in", false); return err },
		func() error { return tk.Qualify(contracts.TypeIncident, contracts.SeverityCritical) },
		func() error { return tk.Assign(agents[1]) },
		func() error { tk.SetDeadline(t0.Add(time.Hour), 1); return nil },
		func() error { return tk.AddClientNote("any news?", t0.Add(time.Minute)) },
		func() error { return tk.Block("waiting for vendor") },
		func() error { return tk.Unblock("vendor answered") },
		func() error { return tk.Resolve("password reset", agents[1]) },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	ev := tk.TakeEvents()
	wantTypes := []string{contracts.TypeTicketCreated, contracts.TypeTicketQualified, contracts.TypeIncidentCreated,
		contracts.TypeAgentAssignedToTicket, contracts.TypeTicketBlocked, contracts.TypeTicketUnblocked, contracts.TypeTicketResolved}
	if !reflect.DeepEqual(types(ev), wantTypes) {
		t.Fatalf("events %v, want %v", types(ev), wantTypes)
	}
	if !reflect.DeepEqual(versions(ev), []int{1, 2, 3, 4, 5, 6, 7}) || tk.Version != 7 {
		t.Fatalf("versions %v (ticket %d), want 1..7", versions(ev), tk.Version)
	}
	q := ev[1].(contracts.TicketQualified)
	if q.Type != contracts.TypeIncident || q.SeverityLevel != contracts.SeverityCritical || q.Email != tk.Email || !q.CreatedAt.Equal(t0) || q.Status != contracts.StatusQualified {
		t.Fatalf("TicketQualified = %+v", q)
	}
	inc := ev[2].(contracts.IncidentCreated)
	if inc.AlertType != contracts.AlertIncident || !strings.Contains(inc.AlertMessageContent, tk.ID) || inc.AlertKey != "incident:"+tk.ID {
		t.Fatalf("IncidentCreated = %+v", inc)
	}
	if a := ev[3].(contracts.AgentAssignedToTicket); a.AssignedAgentUserID != agents[1].UserID {
		t.Fatalf("AgentAssigned = %+v", a)
	}
	res := ev[6].(contracts.TicketResolved)
	if res.Resolution != "password reset" || res.Email != tk.Email || res.AssignedAgentUserID != agents[1].UserID || res.Status != contracts.StatusResolved {
		t.Fatalf("TicketResolved = %+v", res)
	}
	wantNotes := "BLOCKED: waiting for vendor\nUNBLOCKED: vendor answered\nRESOLVED BY: Ziemowit Pędziwiatr"
	if tk.InternalNotes != wantNotes {
		t.Fatalf("internal notes %q", tk.InternalNotes)
	}
	if tk.Notes != "[2025-02-25T10:01:00Z] any news?" {
		t.Fatalf("client notes %q", tk.Notes)
	}
}

func TestQuestionDoesNotRaiseIncident(t *testing.T) {
	tk := inStatus(t, contracts.StatusBeforeQualification, false)
	if err := tk.Qualify(contracts.TypeQuestion, contracts.SeverityMedium); err != nil {
		t.Fatal(err)
	}
	if got := types(tk.TakeEvents()); !reflect.DeepEqual(got, []string{contracts.TypeTicketQualified}) {
		t.Fatalf("events %v", got)
	}
	for _, bad := range []struct {
		typ contracts.TicketType
		sev contracts.Severity
	}{{contracts.TypeUnknown, contracts.SeverityLow}, {"", contracts.SeverityLow}, {contracts.TypeIncident, "Huge"}} {
		tk := inStatus(t, contracts.StatusBeforeQualification, false)
		if err := tk.Qualify(bad.typ, bad.sev); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Qualify(%q, %q) = %v", bad.typ, bad.sev, err)
		}
	}
}

func TestSetDeadlineRevisions(t *testing.T) {
	tk := inStatus(t, contracts.StatusQualified, false)
	d1, d2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	if !tk.SetDeadline(d1, 1) || !tk.SetDeadline(d2, 2) {
		t.Fatal("fresh revisions not applied")
	}
	if tk.SetDeadline(d1, 1) || !tk.DeadlineUTC.Equal(d2) {
		t.Fatal("a stale revision overwrote a newer deadline")
	}
	if !tk.SetDeadline(d1, 0) || !tk.DeadlineUTC.Equal(d1) {
		t.Fatal("a revision-less (original) message was not applied")
	}
	if tk.Version != 2 {
		t.Fatalf("deadline changes bumped the version to %d", tk.Version)
	}
}

func TestTextLimits(t *testing.T) {
	tk := inStatus(t, contracts.StatusQualified, false)
	if err := tk.Block(strings.Repeat("x", MaxReasonLen+1)); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("long reason: %v", err)
	}
	if err := tk.Block("   "); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("blank reason: %v", err)
	}
	if err := tk.AddClientNote("", t0); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty note: %v", err)
	}
}

func TestSeedAgents(t *testing.T) {
	a := SeedAgents()
	if len(a) != 3 || a[0].ID != "00000000-0000-0000-0000-000000000001" || a[0].Position != PositionSupervisor ||
		a[1].FullName != "Ziemowit Pędziwiatr" || a[2].FullName != "Kunegunda Śmieszek" || a[2].ID != a[2].UserID {
		t.Fatalf("seed = %+v", a)
	}
	d := NewDirectory()
	if _, err := d.ByID("00000000-0000-0000-0000-000000000003"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ByUserID("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}
