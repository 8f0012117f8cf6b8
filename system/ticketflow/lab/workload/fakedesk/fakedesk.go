// Package fakedesk is an in-memory stand-in for the Ticketflow HTTP APIs the
// workload generator uses (Inquiries submit and list, Tickets get, list,
// commands and agents, Communication's customer messages), for unit tests
// that need no broker. It keeps the real state machine, so a generator that
// sends commands in a wrong order gets the real desk's 400s.
//
// # Design
//
//	POST /inquiries/submit ─▶ inquiry (id inq-0001, …)
//	   ticket visible CreateAfter later: BeforeQualification, or
//	   WaitingForScheduledAction until TranslateAfter more (not English)
//	qualify ─▶ Qualified; assign (Qualified|Blocked, once); block ⇄ unblock
//	resolve ─▶ Resolved + inquiry Resolved + one closure message
//
// Time drives the asynchronous part (no goroutines): a ticket's state is
// derived from its submission time when read. Every request's W3C traceparent
// is checked and its trace id remembered (Traces).
//
// # Best practices
//
//   - Use it for the generator's logic only; the real services are tested
//     end to end in system/ticketflow/e2e.
//   - Keep the wire shapes here written independently of the generator's,
//     so a drift on either side shows up as a failing test.
package fakedesk

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ticket statuses as the real Tickets service writes them.
const (
	Waiting   = "WaitingForScheduledAction"
	Before    = "BeforeQualification"
	Qualified = "Qualified"
	Blocked   = "Blocked"
	Resolved  = "Resolved"
)

// Options shape the fake's behaviour; zero values take the defaults.
type Options struct {
	CreateAfter    time.Duration // submit → ticket visible; default 20 ms
	TranslateAfter time.Duration // ticket → translated (not English); default 30 ms; < 0 never
	// Language tells a submission's language from its description; nil
	// means every inquiry is English.
	Language func(description string) string
	// FailSubmit answers 503 to submission n (1-based) when it returns true.
	FailSubmit func(n int) bool
	// FailCommand answers 503 to the attempt-th call of kind on a ticket.
	FailCommand func(kind string, attempt int) bool
}

// Desk is a running fake.
type Desk struct {
	t   testing.TB
	opt Options
	url string

	mu        sync.Mutex
	submits   int
	inquiries map[string]*inquiry
	order     []string
	attempts  map[string]int
	traces    map[string]bool
	messages  []Message
}

type inquiry struct {
	id, lang, email string
	at              time.Time
	status          string
	typ, sev, agent string
	inquiryStatus   string
	version         int
}

// Message is a customer message as GET /anonymous-users/messages returns it.
type Message struct {
	ID             string    `json:"id"`
	RecipentEmail  string    `json:"recipentEmail"`
	Title          string    `json:"title"`
	Content        string    `json:"content"`
	Timestamp      time.Time `json:"timestamp"`
	IdempotencyKey string    `json:"idempotencyKey"`
}

// Start serves the fake on 127.0.0.1 until the test ends.
func Start(t testing.TB, opt Options) *Desk {
	if opt.CreateAfter == 0 {
		opt.CreateAfter = 20 * time.Millisecond
	}
	if opt.TranslateAfter == 0 {
		opt.TranslateAfter = 30 * time.Millisecond
	}
	d := &Desk{t: t, opt: opt, inquiries: map[string]*inquiry{}, attempts: map[string]int{}, traces: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /inquiries/submit", d.submit)
	mux.HandleFunc("GET /inquiries", d.listInquiries)
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, []map[string]string{{"id": "00000000-0000-0000-0000-000000000001"}, {"id": "00000000-0000-0000-0000-000000000002"}})
	})
	mux.HandleFunc("GET /tickets", d.listTickets)
	mux.HandleFunc("GET /tickets/{id}", d.getTicket)
	for _, kind := range []string{"qualify", "assign/{agent}", "block/{reason}", "unblock/{reason}", "resolve/{resolution}"} {
		mux.HandleFunc("POST /tickets/{id}/"+kind, d.command(strings.Split(kind, "/")[0]))
	}
	mux.HandleFunc("GET /anonymous-users/messages", d.listMessages)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tp := r.Header.Get("traceparent"); tp != "" {
			parts := strings.Split(tp, "-")
			if _, err := hex.DecodeString(parts[min(1, len(parts)-1)]); len(parts) != 4 || len(parts[1]) != 32 || len(parts[2]) != 16 || err != nil {
				t.Errorf("bad traceparent %q", tp)
			} else {
				d.mu.Lock()
				d.traces[parts[1]] = true
				d.mu.Unlock()
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	d.url = srv.URL
	return d
}

// URL is the base URL of all three APIs.
func (d *Desk) URL() string { return d.url }

// Submits counts POST /inquiries/submit calls.
func (d *Desk) Submits() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.submits
}

// SawTrace reports whether a request carried this trace id (32 hex digits).
func (d *Desk) SawTrace(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.traces[id]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

func (d *Desk) submit(w http.ResponseWriter, r *http.Request) {
	var req struct{ Name, Email, Title, Description, Category string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.Email == "" || req.Description == "" || req.Category == "" {
		fail(w, 400, fmt.Sprintf("bad submission %+v: %v", req, err))
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.submits++
	if d.opt.FailSubmit != nil && d.opt.FailSubmit(d.submits) {
		fail(w, 503, "unavailable")
		return
	}
	lang := "en"
	if d.opt.Language != nil {
		lang = d.opt.Language(req.Description)
	}
	id := fmt.Sprintf("inq-%04d", d.submits)
	d.inquiries[id] = &inquiry{id: id, lang: lang, email: req.Email, at: time.Now(), inquiryStatus: "New"}
	d.order = append(d.order, id)
	writeJSON(w, 200, map[string]string{"id": id, "languageCode": lang})
}

// state derives a ticket's status from the clock; "" = no ticket yet. Call with mu held.
func (d *Desk) state(q *inquiry) string {
	age := time.Since(q.at)
	if age < d.opt.CreateAfter {
		return ""
	}
	if q.status != "" {
		return q.status
	}
	if q.lang != "en" && (d.opt.TranslateAfter < 0 || age < d.opt.CreateAfter+d.opt.TranslateAfter) {
		return Waiting
	}
	q.status = Before
	return q.status
}

func (d *Desk) getTicket(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, ok := d.inquiries[r.PathValue("id")]
	if !ok || d.state(q) == "" {
		fail(w, 404, "ticket not found")
		return
	}
	body := map[string]any{"id": q.id, "status": d.state(q), "version": q.version, "assignedAgentUserId": nil}
	if q.agent != "" {
		body["assignedAgentUserId"] = q.agent
	}
	writeJSON(w, 200, body)
}

func (d *Desk) command(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		id := r.PathValue("id")
		q, ok := d.inquiries[id]
		if !ok || d.state(q) == "" {
			fail(w, 404, "ticket not found")
			return
		}
		d.attempts[id+kind]++
		if d.opt.FailCommand != nil && d.opt.FailCommand(kind, d.attempts[id+kind]) {
			fail(w, 503, "try again")
			return
		}
		st := d.state(q)
		refuse := func(want ...string) bool {
			for _, s := range want {
				if st == s {
					return false
				}
			}
			fail(w, 400, fmt.Sprintf("cannot %s a ticket in status %s", kind, st))
			return true
		}
		switch kind {
		case "qualify":
			if refuse(Before) {
				return
			}
			var body struct{ TicketType, SeverityLevel string }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.TicketType == "" || body.SeverityLevel == "" {
				fail(w, 400, "bad qualify body")
				return
			}
			q.status, q.typ, q.sev = Qualified, body.TicketType, body.SeverityLevel
		case "assign":
			if refuse(Qualified, Blocked) {
				return
			}
			if q.agent != "" {
				fail(w, 400, "already assigned")
				return
			}
			q.agent = r.PathValue("agent")
		case "block":
			if refuse(Qualified) {
				return
			}
			if !strings.Contains(r.PathValue("reason"), " ") {
				fail(w, 400, "reason lost its spaces: "+r.PathValue("reason"))
				return
			}
			q.status = Blocked
		case "unblock":
			if refuse(Blocked) {
				return
			}
			q.status = Qualified
		case "resolve":
			if st == Resolved || st == Waiting {
				fail(w, 400, "cannot resolve in "+st)
				return
			}
			q.status, q.inquiryStatus = Resolved, "Resolved"
			d.messages = append(d.messages, Message{ID: "m-" + id, RecipentEmail: q.email, Title: "Zgłoszenie zamknięte!",
				Content: "Twoje zgłoszenie " + id + " zostało zamknięte.", Timestamp: time.Now(), IdempotencyKey: "closure:" + id})
		}
		q.version++
		w.WriteHeader(200)
	}
}

func pageOf(r *http.Request, n, maxLimit int) (from, to int) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	page, limit = max(page, 1), min(max(limit, 1), maxLimit)
	from = min((page-1)*limit, n)
	return from, min(from+limit, n)
}

func (d *Desk) listTickets(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	all := []map[string]any{}
	for i := len(d.order) - 1; i >= 0; i-- {
		q := d.inquiries[d.order[i]]
		st := d.state(q)
		if st == "" {
			continue
		}
		it := map[string]any{"id": q.id, "status": st, "languageCode": q.lang, "descriptionTranslated": nil, "deadline": nil}
		if q.lang != "en" && st != Waiting {
			it["descriptionTranslated"] = "translated " + q.id
		}
		if q.typ != "" {
			it["deadline"] = q.at.Add(time.Hour)
		}
		all = append(all, it)
	}
	from, to := pageOf(r, len(all), 100)
	writeJSON(w, 200, map[string]any{"data": all[from:to], "totalCount": len(all)})
}

func (d *Desk) listInquiries(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	all := []map[string]any{}
	for i := len(d.order) - 1; i >= 0; i-- {
		q := d.inquiries[d.order[i]]
		it := map[string]any{"id": q.id, "status": q.inquiryStatus, "ticketId": nil}
		if d.state(q) != "" {
			it["ticketId"] = q.id
		}
		all = append(all, it)
	}
	from, to := pageOf(r, len(all), 25)
	writeJSON(w, 200, map[string]any{"data": all[from:to], "totalCount": len(all)})
}

func (d *Desk) listMessages(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	all := make([]Message, 0, len(d.messages))
	for i := len(d.messages) - 1; i >= 0; i-- {
		all = append(all, d.messages[i])
	}
	from, to := pageOf(r, len(all), 100)
	writeJSON(w, 200, map[string]any{"data": all[from:to], "total": len(all)})
}
