package workload_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

// shop is an in-memory ticketsale behind one HTTP server: the orders
// "replica" hears of a ticket only after lag tries, and payments of an
// order after lag tries too; one order per ticket (reserveAtomic), one
// payment per order (paymentGuards), no cancel once complete
// (deleteGuards).
type shop struct {
	mu       sync.Mutex
	lag      int
	users    map[string]string // email → id
	tickets  map[string]float64
	tries    map[string]int
	orders   map[string]*fakeOrder
	reserved map[string]string // ticket → order
	payments int
}

type fakeOrder struct {
	ID, User, Ticket string
	Status           common.OrderStatus
}

func newShop(t *testing.T, lag int) (*shop, *client.Client) {
	t.Helper()
	s := &shop{lag: lag, users: map[string]string{}, tickets: map[string]float64{}, tries: map[string]int{},
		orders: map[string]*fakeOrder{}, reserved: map[string]string{}}
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
		o := &fakeOrder{ID: fmt.Sprintf("o%d", len(s.orders)+1), User: user(r), Ticket: tk, Status: common.OrderCreated}
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
	ep := client.Endpoints{}
	for _, svc := range []string{"auth", "tickets", "orders", "payments"} {
		ep[svc] = []string{srv.URL}
	}
	c, err := client.New(ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestRunPlaysThePlan(t *testing.T) {
	s, c := newShop(t, 2)
	pay, cancel, twice, cancelPaid := 0.5, 0.3, 0.5, 0.5
	plan, err := workload.NewPlan(workload.Config{Users: 5, Tickets: 30, Rate: 1000, Racers: 3, PayShare: &pay, CancelShare: &cancel,
		DoublePayShare: &twice, CancelPaidShare: &cancelPaid}, 11)
	if err != nil {
		t.Fatal(err)
	}
	var last workload.Progress
	res, err := workload.Run(t.Context(), c, plan, workload.Options{Poll: time.Millisecond, Progress: func(p workload.Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	want := plan.Counts()
	k := res.Summary.Kinds
	if k[workload.KindSignup].Accepted != 7 || k[workload.KindTicketCreate].Accepted != 30 || k[workload.KindTicketUpdate].Accepted != want.Updates {
		t.Errorf("signups, creates, updates %+v", k)
	}
	// The replica lags two tries: the race goes in rounds until it has the
	// ticket, then one racer of three wins.
	if got := k[workload.KindOrderPlace]; got.Accepted != 30 || got.Rejected != 60 {
		t.Errorf("orders %+v, want 30 won, 60 refused", got)
	}
	// Every paid order is paid once; a second payment at once is refused.
	if got := k[workload.KindPayment]; got.Accepted != want.Pay || got.Rejected != want.DoublePay || s.payments != want.Pay {
		t.Errorf("payments %+v (shop %d), want %d accepted, %d refused", got, s.payments, want.Pay, want.DoublePay)
	}
	if got := k[workload.KindOrderCancel]; got.Accepted != want.Cancel || got.Rejected != want.CancelPaid {
		t.Errorf("cancels %+v, want %d accepted, %d refused once complete", got, want.Cancel, want.CancelPaid)
	}
	if last.Phase != "done" || last.Done != 30 || last.Paid != want.Pay || last.InFlight != 0 {
		t.Errorf("last progress %+v", last)
	}
	for i, r := range res.Records {
		if i > 0 && r.At.Before(res.Records[i-1].At) {
			t.Fatalf("records out of time order at %d", i)
		}
		if r.Kind == workload.KindOrderPlace && r.Outcome == workload.OutcomeAccepted && (r.ID == "" || r.Ticket == "" || r.User == "") {
			t.Errorf("order record without ids: %+v", r)
		}
	}
	var table strings.Builder
	if err := res.Summary.WriteTable(&table); err != nil || !strings.Contains(table.String(), "order.place") {
		t.Errorf("table: %v\n%s", err, table.String())
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	_, c := newShop(t, 0)
	plan, err := workload.NewPlan(workload.Config{Users: 2, Tickets: 1000, Rate: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Cancelled once two lifecycles are done; 1000 at 2/s would take 8 min.
	res, err := workload.Run(ctx, c, plan, workload.Options{ProgressEvery: time.Millisecond, Progress: func(p workload.Progress) {
		if p.Done >= 2 {
			cancel()
		}
	}})
	if err == nil || res == nil || len(res.Records) == 0 || res.Summary.Kinds[workload.KindTicketCreate].Accepted >= 1000 {
		t.Errorf("cancelled run: %v, %d records", err, len(res.Records))
	}
}
