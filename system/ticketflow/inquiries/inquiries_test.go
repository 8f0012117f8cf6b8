package inquiries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var t0 = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

type memStore struct {
	mu  sync.Mutex
	inq map[string]Inquiry
}

func newMemStore() *memStore { return &memStore{inq: map[string]Inquiry{}} }

func (m *memStore) Inquiry(_ context.Context, id string) (*Inquiry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.inq[id]
	if !ok {
		return nil, fmt.Errorf("inquiry %s: %w", id, ErrNotFound)
	}
	return &q, nil
}

func (m *memStore) SaveInquiry(_ context.Context, q *Inquiry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inq[q.ID] = *q
	return nil
}

func (m *memStore) Inquiries(_ context.Context, page, limit int) ([]*Inquiry, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []*Inquiry
	for _, k := range slices.Sorted(maps.Keys(m.inq)) {
		q := m.inq[k]
		all = append(all, &q)
	}
	p, total := Page(all, page, limit)
	return p, total, nil
}

func intake(t *testing.T) *Intake {
	t.Helper()
	in, err := NewIntake()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	in.NewID = func() string { n++; return fmt.Sprintf("inq-%d", n) }
	return in
}

func types(ms []contracts.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MessageType())
	}
	return out
}

func TestSubmitDetectsLanguageAndRequestsTranslation(t *testing.T) {
	tests := []struct {
		title, desc string
		lang        string
		want        []string
	}{
		{"Cannot log in", "I cannot log in since yesterday, please help me.", "en", []string{contracts.TypeInquirySubmitted}},
		{"Logowanie", "Nie mogę zalogować się do systemu od wczoraj, proszę o pomoc.", "pl", []string{contracts.TypeInquirySubmitted, contracts.TypeRequestTranslationV2}},
		{"Anmeldung", "Ich kann mich seit gestern nicht mehr anmelden, bitte helfen Sie mir.", "de", []string{contracts.TypeInquirySubmitted, contracts.TypeRequestTranslationV2}},
		{"Factura", "La factura de marzo es incorrecta y me cobraron dos veces.", "es", []string{contracts.TypeInquirySubmitted, contracts.TypeRequestTranslationV2}},
		{"Facture", "La facture de mars est incorrecte et j'ai été débité deux fois.", "fr", []string{contracts.TypeInquirySubmitted, contracts.TypeRequestTranslationV2}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			st := newMemStore()
			q, msgs, err := intake(t).Submit(t.Context(), st, SubmitRequest{Name: "Jan", Email: "jan@example.com", Title: tt.title, Description: tt.desc, Category: "billing"}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if q.LanguageCode != tt.lang || q.Status != contracts.InquiryNew || q.Category != contracts.CategoryBilling || !q.CreatedAt.Equal(t0) {
				t.Fatalf("inquiry %+v", q)
			}
			if got := types(msgs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("messages %v, want %v", got, tt.want)
			}
			sub := msgs[0].(contracts.InquirySubmitted)
			if sub.ID != q.ID || sub.LanguageCode != tt.lang || sub.Description != tt.desc {
				t.Fatalf("InquirySubmitted %+v", sub)
			}
			if len(msgs) == 2 {
				rt := msgs[1].(contracts.RequestTranslationV2)
				if rt.ReferenceID != q.ID || rt.LanguageCode != tt.lang || rt.Text != tt.desc {
					t.Fatalf("RequestTranslationV2 %+v", rt)
				}
			}
			if _, err := st.Inquiry(t.Context(), q.ID); err != nil {
				t.Fatal("inquiry not saved")
			}
		})
	}
	in := intake(t)
	in.PublishV1 = true
	_, msgs, _ := in.Submit(t.Context(), newMemStore(), SubmitRequest{Name: "J", Email: "j@example.com", Description: "Drukarka nie działa po ostatniej aktualizacji."}, t0)
	if !reflect.DeepEqual(types(msgs), []string{contracts.TypeInquirySubmitted, contracts.TypeRequestTranslationV1, contracts.TypeRequestTranslationV2}) {
		t.Fatalf("with V1: %v", types(msgs))
	}
}

func TestSubmitValidation(t *testing.T) {
	ok := SubmitRequest{Name: "Jan", Email: "jan@example.com", Title: "T", Description: "Something broke", Category: "technical"}
	tests := []struct {
		name  string
		mod   func(*SubmitRequest)
		field string
	}{
		{"missing name", func(r *SubmitRequest) { r.Name = " " }, "name"},
		{"missing email", func(r *SubmitRequest) { r.Email = "" }, "email"},
		{"bad email", func(r *SubmitRequest) { r.Email = "jan at example" }, "email"},
		{"display-name email", func(r *SubmitRequest) { r.Email = "Jan <jan@example.com>" }, "email"},
		{"missing description", func(r *SubmitRequest) { r.Description = "" }, "description"},
		{"long title", func(r *SubmitRequest) { r.Title = strings.Repeat("x", MaxTitleLen+1) }, "title"},
		{"long description", func(r *SubmitRequest) { r.Description = strings.Repeat("x", MaxDescriptionLen+1) }, "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mod(&r)
			_, _, err := intake(t).Submit(t.Context(), newMemStore(), r, t0)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("err = %v, want a validation error on %s", err, tt.field)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	r := ok
	r.Category = "complaints"
	q, _, err := intake(t).Submit(t.Context(), newMemStore(), r, t0)
	if err != nil || q.Category != contracts.CategoryOther {
		t.Fatalf("unknown category: %v %v", q, err)
	}
	all := SubmitRequest{}.Validate()
	if ves, ok := all.(ValidationErrors); !ok || len(ves) != 3 {
		t.Fatalf("empty request: %v", all)
	}
}

func TestInquiryStatusFollowsTheTicket(t *testing.T) {
	ctx, st := t.Context(), newMemStore()
	q, _, err := intake(t).Submit(ctx, st, SubmitRequest{Name: "J", Email: "j@example.com", Description: "Printer broken"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: "other", InquiryID: "missing"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown inquiry: %v", err)
	}
	steps := []struct {
		name    string
		run     func() (bool, error)
		changed bool
		status  contracts.InquiryStatus
		wantErr bool
	}{
		{"created", func() (bool, error) {
			return HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: q.ID, InquiryID: q.ID, Version: 1})
		}, true, contracts.InquiryInProgress, false},
		{"created again", func() (bool, error) {
			return HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: q.ID, InquiryID: q.ID, Version: 1})
		}, false, contracts.InquiryInProgress, false},
		{"other ticket", func() (bool, error) {
			return HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: "x", InquiryID: q.ID})
		}, false, contracts.InquiryInProgress, true},
		{"resolved", func() (bool, error) {
			return HandleTicketResolved(ctx, st, contracts.TicketResolved{TicketID: q.ID, Version: 5})
		}, true, contracts.InquiryResolved, false},
		{"resolved again", func() (bool, error) {
			return HandleTicketResolved(ctx, st, contracts.TicketResolved{TicketID: q.ID, Version: 5})
		}, false, contracts.InquiryResolved, false},
		{"late created", func() (bool, error) {
			return HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: q.ID, InquiryID: q.ID, Version: 1})
		}, false, contracts.InquiryResolved, false},
	}
	for _, s := range steps {
		changed, err := s.run()
		if (err != nil) != s.wantErr || changed != s.changed {
			t.Fatalf("%s: changed=%v err=%v", s.name, changed, err)
		}
		got, _ := st.Inquiry(ctx, q.ID)
		if got.Status != s.status || got.TicketID != q.ID {
			t.Fatalf("%s: status %s ticket %q", s.name, got.Status, got.TicketID)
		}
	}
	var ce *ConflictError
	if _, err := HandleTicketCreated(ctx, st, contracts.TicketCreated{ID: "x", InquiryID: q.ID}); !errors.As(err, &ce) || ce.StatusCode() != 409 {
		t.Fatalf("conflict error %v", err)
	}
}

type intakeSubmitter struct {
	in  *Intake
	st  *memStore
	now time.Time
}

func (s *intakeSubmitter) Submit(ctx context.Context, req SubmitRequest) (*Inquiry, error) {
	s.now = s.now.Add(time.Second)
	q, _, err := s.in.Submit(ctx, s.st, req, s.now)
	return q, err
}

func TestHTTP(t *testing.T) {
	st := newMemStore()
	h, err := NewHandler(&intakeSubmitter{in: intake(t), st: st, now: t0}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(body string) (int, string) {
		resp, err := srv.Client().Post(srv.URL+"/inquiries/submit", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 30 {
		code, body := post(fmt.Sprintf(`{"title":"Faktura %d","name":"Jan","email":"jan@example.com","description":"Faktura za marzec jest błędna","category":"billing"}`, i))
		if code != 200 || !strings.Contains(body, `"languageCode":"pl"`) {
			t.Fatalf("submit %d: %d %s", i, code, body)
		}
	}
	code, body := get("/inquiries?page=1&limit=100")
	var l ListResponse
	if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil {
		t.Fatalf("list: %d %s", code, body)
	}
	if l.TotalCount != 30 || len(l.Data) != MaxLimit || l.Data[0].Title != "Faktura 29" || l.Data[0].Status != contracts.InquiryNew || l.Data[0].TicketID != nil {
		t.Fatalf("list capped at 25, newest first: total %d len %d first %+v", l.TotalCount, len(l.Data), l.Data[0])
	}
	var raw struct{ Data []map[string]any }
	_ = json.Unmarshal([]byte(body), &raw)
	for _, k := range []string{"id", "name", "title", "email", "description", "category", "status", "createdAt", "ticketId"} {
		if _, ok := raw.Data[0][k]; !ok {
			t.Fatalf("view lacks %q", k)
		}
	}
	if raw.Data[0]["category"] != "Billing" || raw.Data[0]["status"] != "New" {
		t.Fatalf("enums not strings: %v", raw.Data[0])
	}
	for _, bad := range []struct{ body, msg string }{
		{`{"name":"","email":"x","description":""}`, "name is required"},
		{`{"name":"J","email":"nope","description":"d"}`, "not a valid e-mail"},
		{`[1,2]`, "invalid JSON"},
	} {
		code, body := post(bad.body)
		var eb struct{ Message string }
		_ = json.Unmarshal([]byte(body), &eb)
		if code != 400 || !strings.Contains(eb.Message, bad.msg) {
			t.Errorf("%s: %d %s", bad.body, code, body)
		}
	}
	if code, _ := get("/inquiries?page=0"); code != 400 {
		t.Fatalf("page 0: %d", code)
	}
}
