// Package fakeshop is an in-memory stand-in for ticketsale's HTTP routes
// (signup, tickets, orders, payments), for unit tests of the crowd and of
// `tflab load` that need no broker. Its orders and payments "replicas"
// hear of a ticket or an order only after a number of tries (404 until
// then), and it keeps the fixed system's rules: one active order per
// ticket, one payment per order, no cancel once complete.
package fakeshop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
)

// Shop is an in-memory ticketsale behind one HTTP server.
type Shop struct {
	// URL is the server's base URL: every service's routes answer there.
	URL string

	mu       sync.Mutex
	lag      int
	users    map[string]string // email → id
	tickets  map[string]float64
	tries    map[string]int
	orders   map[string]*order
	reserved map[string]string // ticket → order
	payments int
}

type order struct {
	ID, User, Ticket string
	Status           common.OrderStatus
}

// Start serves a shop until the test ends; its replicas lag tries behind.
func Start(t testing.TB, lag int) *Shop {
	t.Helper()
	s := &Shop{lag: lag, users: map[string]string{}, tickets: map[string]float64{}, tries: map[string]int{},
		orders: map[string]*order{}, reserved: map[string]string{}}
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(w http.ResponseWriter, code int, msg string) {
		write(w, code, common.ErrorBody{Errors: []common.ErrorItem{{Message: msg}}})
	}
	body := func(r *http.Request) map[string]any {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		return m
	}
	user := func(r *http.Request) string {
		c, err := r.Cookie(common.SessionCookie)
		if err != nil {
			return ""
		}
		return c.Value
	}
	signup := func(w http.ResponseWriter, r *http.Request) {
		email := body(r)["email"].(string)
		s.mu.Lock()
		id, ok := s.users[email]
		if !ok {
			id = fmt.Sprintf("u%d", len(s.users)+1)
			s.users[email] = id
		}
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: common.SessionCookie, Value: id})
		write(w, http.StatusCreated, map[string]string{"id": id, "email": email})
	}
	mux.HandleFunc("POST /api/users/signup", signup)
	mux.HandleFunc("POST /api/tickets", func(w http.ResponseWriter, r *http.Request) {
		b := body(r)
		s.mu.Lock()
		id := fmt.Sprintf("t%d", len(s.tickets)+1)
		s.tickets[id] = b["price"].(float64)
		s.mu.Unlock()
		write(w, http.StatusCreated, map[string]any{"id": id, "price": b["price"]})
	})
	mux.HandleFunc("PUT /api/tickets/{id}", func(w http.ResponseWriter, r *http.Request) {
		b := body(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.tickets[r.PathValue("id")] = b["price"].(float64)
		write(w, http.StatusOK, map[string]any{"id": r.PathValue("id")})
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		tk := body(r)["ticketId"].(string)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.tries[tk]++; s.tries[tk] <= s.lag {
			fail(w, http.StatusNotFound, "Not Found")
			return
		}
		if s.reserved[tk] != "" {
			fail(w, http.StatusBadRequest, "Ticket is already reserved")
			return
		}
		o := &order{ID: fmt.Sprintf("o%d", len(s.orders)+1), User: user(r), Ticket: tk, Status: common.OrderCreated}
		s.orders[o.ID], s.reserved[tk] = o, o.ID
		write(w, http.StatusCreated, map[string]any{"id": o.ID, "status": o.Status, "ticket": map[string]any{"id": tk}})
	})
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.orders[r.PathValue("id")]
		write(w, http.StatusOK, map[string]any{"id": o.ID, "status": o.Status})
	})
	mux.HandleFunc("DELETE /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.orders[r.PathValue("id")]
		if o.Status == common.OrderComplete {
			fail(w, http.StatusBadRequest, "Cannot cancel a complete order")
			return
		}
		o.Status = common.OrderCancelled
		delete(s.reserved, o.Ticket)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/payments", func(w http.ResponseWriter, r *http.Request) {
		id := body(r)["orderId"].(string)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.tries["pay "+id]++; s.tries["pay "+id] <= s.lag {
			fail(w, http.StatusNotFound, "Not Found")
			return
		}
		o := s.orders[id]
		if o.Status != common.OrderCreated {
			fail(w, http.StatusBadRequest, "Order already paid")
			return
		}
		o.Status = common.OrderComplete
		s.payments++
		write(w, http.StatusCreated, map[string]string{"id": fmt.Sprintf("p%d", s.payments)})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Payments counts the payments the shop accepted.
func (s *Shop) Payments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payments
}

// Client returns a client of the shop.
func (s *Shop) Client(t testing.TB) *client.Client {
	t.Helper()
	ep := client.Endpoints{}
	for _, svc := range []string{"auth", "tickets", "orders", "payments"} {
		ep[svc] = []string{s.URL}
	}
	c, err := client.New(ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
