package communication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

var t0 = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

// memStore is an in-memory Store, Queries and Poster for unit tests.
type memStore struct {
	mu     sync.Mutex
	msgs   []Message
	alerts []Alert
	n      int
	now    time.Time
}

func (m *memStore) AddMessage(_ context.Context, msg Message) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.msgs {
		if msg.IdempotencyKey != "" && x.IdempotencyKey == msg.IdempotencyKey {
			return x.ID, false, nil
		}
	}
	m.msgs = append(m.msgs, msg)
	return msg.ID, true, nil
}

func (m *memStore) AddAlert(_ context.Context, a Alert) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.alerts {
		if a.IdempotencyKey != "" && x.IdempotencyKey == a.IdempotencyKey {
			return x.ID, false, nil
		}
	}
	m.alerts = append(m.alerts, a)
	return a.ID, true, nil
}

func (m *memStore) Alerts(_ context.Context, onlyUnread bool, limit int) ([]Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return SelectAlerts(m.alerts, onlyUnread, limit), nil
}

func (m *memStore) SetAlertRead(_ context.Context, id string, read bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.alerts {
		if m.alerts[i].ID == id {
			m.alerts[i].IsRead = read
			return nil
		}
	}
	return fmt.Errorf("alert %s: %w", id, ErrNotFound)
}

func (m *memStore) Messages(_ context.Context, f MessageFilter) ([]Message, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	page, total := SelectMessages(m.msgs, f)
	return page, total, nil
}

func (m *memStore) SetMessageRead(_ context.Context, id string, read bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.msgs {
		if m.msgs[i].ID == id {
			m.msgs[i].IsRead = read
			return nil
		}
	}
	return fmt.Errorf("message %s: %w", id, ErrNotFound)
}

func (m *memStore) PostMessage(ctx context.Context, req PostMessageRequest) (string, bool, error) {
	m.mu.Lock()
	m.n++
	id, now := fmt.Sprintf("m%d", m.n), t0.Add(time.Duration(m.n)*time.Second)
	m.mu.Unlock()
	return m.AddMessage(ctx, req.Message(id, now))
}

func TestClosureMessageOncePerTicket(t *testing.T) {
	st := &memStore{}
	ev := contracts.TicketResolved{TicketID: "t1", Version: 7, Status: contracts.StatusResolved, Resolution: "reset the VPN profile", Email: "anna@example.com", AssignedAgentUserID: "agent-2"}
	for i, want := range []bool{true, false, false} {
		inserted, err := HandleTicketResolved(t.Context(), st, ev, fmt.Sprintf("id%d", i), t0)
		if err != nil || inserted != want {
			t.Fatalf("delivery %d: inserted=%v err=%v", i, inserted, err)
		}
	}
	if len(st.msgs) != 1 {
		t.Fatalf("%d closure messages", len(st.msgs))
	}
	m := st.msgs[0]
	if m.RecipentEmail != "anna@example.com" || m.RecipentUserID != "" || m.SenderUserID != "agent-2" || m.Title != ClosureTitle ||
		!strings.Contains(m.Content, "Resolved") || !strings.Contains(m.Content, "reset the VPN profile") || m.IdempotencyKey != "closure:t1" {
		t.Fatalf("closure message %+v", m)
	}
	if _, err := HandleTicketResolved(t.Context(), st, contracts.TicketResolved{TicketID: "t2"}, "x", t0); !errors.Is(err, ErrMissingTicketData) {
		t.Fatalf("without e-mail: %v", err)
	}
}

func TestAlertsAreStoredOncePerKey(t *testing.T) {
	st := &memStore{}
	body := func(m contracts.Message) []byte { b, _ := json.Marshal(m); return b }
	steps := []struct {
		body     []byte
		msgID    string
		inserted bool
		key      string
	}{
		{body(contracts.IncidentCreated{TicketID: "t1", Version: 3, AlertMessageContent: "Utworzono incydent", AlertType: contracts.AlertIncident, AlertKey: "incident:t1"}), "m1", true, "incident:t1"},
		{body(contracts.IncidentCreated{TicketID: "t1", Version: 3, AlertMessageContent: "Utworzono incydent", AlertType: contracts.AlertIncident, AlertKey: "incident:t1"}), "m1-redelivered", false, ""},
		{body(contracts.SLABreached{ServiceSourceID: "t1", AlertMessageContent: "SLA niespełnione", AlertType: contracts.AlertSLA, AlertKey: "breach:t1:1"}), "m2", true, "breach:t1:1"},
		{body(contracts.SLABreached{ServiceSourceID: "t1", AlertMessageContent: "SLA niespełnione", AlertType: contracts.AlertSLA, AlertKey: "breach:t1:2"}), "m3", true, "breach:t1:2"},
		{[]byte(`{"alertMessageContent":"legacy","alertType":"SLA"}`), "m4", true, "alert:m4"},
		{[]byte(`{"alertMessageContent":"legacy","alertType":"SLA"}`), "m4", false, ""},
	}
	for i, s := range steps {
		inserted, err := HandleAlert(t.Context(), st, s.body, s.msgID, fmt.Sprintf("a%d", i), t0.Add(time.Duration(i)*time.Second))
		if err != nil || inserted != s.inserted {
			t.Fatalf("step %d: inserted=%v err=%v", i, inserted, err)
		}
		if s.inserted && st.alerts[len(st.alerts)-1].IdempotencyKey != s.key {
			t.Fatalf("step %d: key %q", i, st.alerts[len(st.alerts)-1].IdempotencyKey)
		}
	}
	if len(st.alerts) != 4 {
		t.Fatalf("%d alerts", len(st.alerts))
	}
	if _, err := HandleAlert(t.Context(), st, []byte(`{"ticketId":"x"}`), "m9", "a9", t0); err == nil {
		t.Fatal("non-alert stored")
	}
}

func TestPostMessageValidation(t *testing.T) {
	ok := PostMessageRequest{RecipentUserID: "u", Title: "Przypomnienie #1", Content: "c"}
	tests := []struct {
		name string
		mod  func(*PostMessageRequest)
		want string
	}{
		{"no recipient", func(r *PostMessageRequest) { r.RecipentUserID = "" }, "recipient"},
		{"bad e-mail", func(r *PostMessageRequest) { r.RecipentEmail = "nope" }, "recipentEmail"},
		{"no title", func(r *PostMessageRequest) { r.Title = " " }, "title"},
		{"no content", func(r *PostMessageRequest) { r.Content = "" }, "content"},
		{"long key", func(r *PostMessageRequest) { r.IdempotencyKey = strings.Repeat("k", MaxKeyLen+1) }, "idempotencyKey"},
	}
	for _, tt := range tests {
		r := ok
		tt.mod(&r)
		err := r.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.want || httpjson.StatusOf(err) != 400 {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHTTP(t *testing.T) {
	st := &memStore{}
	h, err := NewHandler(st, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := `{"recipentUserId":"agent-2","title":"Przypomnienie #1","content":"x","idempotencyKey":"reminder:t1:1"}`
	if code, body := do("POST", "/messages", post); code != 200 || !strings.Contains(body, `"inserted":true`) {
		t.Fatalf("post: %d %s", code, body)
	}
	if code, body := do("POST", "/messages/", post); code != 200 || !strings.Contains(body, `"inserted":false`) || !strings.Contains(body, `"id":"m1"`) {
		t.Fatalf("retried post: %d %s", code, body)
	}
	if code, body := do("POST", "/messages", `{"title":"t","content":"c"}`); code != 400 || !strings.Contains(body, "recipient") {
		t.Fatalf("invalid post: %d %s", code, body)
	}
	_, _ = HandleTicketResolved(t.Context(), st, contracts.TicketResolved{TicketID: "t1", Email: "anna@example.com", Resolution: "done"}, "closure-1", t0.Add(time.Hour))

	var l MessagesResponse
	code, body := do("GET", "/logged-users/agent-2/messages/?page=1&limit=10", "")
	if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil || l.Total != 1 || l.Data[0].Title != "Przypomnienie #1" {
		t.Fatalf("agent inbox: %d %s", code, body)
	}
	code, body = do("GET", "/anonymous-users/messages?onlyUnread=true", "")
	if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil || l.Total != 1 || l.Data[0].ID != "closure-1" || !strings.Contains(body, `"recipentEmail":"anna@example.com"`) {
		t.Fatalf("customer messages: %d %s", code, body)
	}
	if code, _ := do("PUT", "/messages/closure-1?isRead=true", ""); code != 200 {
		t.Fatalf("mark read: %d", code)
	}
	if _, body = do("GET", "/anonymous-users/messages?onlyUnread=true", ""); !strings.Contains(body, `"total":0`) {
		t.Fatalf("read message still unread: %s", body)
	}
	if code, _ := do("PUT", "/messages/nope?isRead=true", ""); code != 404 {
		t.Fatalf("unknown message: %d", code)
	}
	if code, _ := do("PUT", "/messages/closure-1?isRead=maybe", ""); code != 400 {
		t.Fatalf("bad isRead: %d", code)
	}

	for i := range 12 {
		_, _, _ = st.AddAlert(t.Context(), Alert{ID: fmt.Sprintf("a%02d", i), Message: "m", CreatedAt: t0.Add(time.Duration(i) * time.Minute), Type: contracts.AlertSLA})
	}
	var alerts []Alert
	code, body = do("GET", "/alerts/", "")
	if err := json.Unmarshal([]byte(body), &alerts); code != 200 || err != nil || len(alerts) != AlertLimit || alerts[0].ID != "a11" {
		t.Fatalf("alerts: %d %s", code, body)
	}
	if code, _ := do("PUT", "/alerts/a11?isRead=true", ""); code != 200 {
		t.Fatal("alert read")
	}
	_, body = do("GET", "/alerts?onlyUnread=true", "")
	_ = json.Unmarshal([]byte(body), &alerts)
	if alerts[0].ID != "a10" {
		t.Fatalf("only unread: first %s", alerts[0].ID)
	}
	if code, _ := do("GET", "/logged-users/u/messages?limit=1000", ""); code != 400 {
		t.Fatalf("limit too large: %d", code)
	}
}
