package probe_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/probe"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

// fake answers signup with a session, lists a ticket, places an order,
// and then answers POST /api/payments with pay, GET /api/orders/:id with
// the order at status.
func fake(t *testing.T, pay int, status common.OrderStatus) *client.Client {
	t.Helper()
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /api/users/signup", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: common.SessionCookie, Value: "s"})
		write(w, http.StatusCreated, map[string]string{"id": "u1", "email": "x"})
	})
	mux.HandleFunc("POST /api/tickets", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusCreated, map[string]any{"id": "t1", "price": 20})
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusCreated, map[string]any{"id": "o1", "status": "created"})
	})
	mux.HandleFunc("POST /api/payments", func(w http.ResponseWriter, r *http.Request) {
		if pay != http.StatusCreated {
			write(w, pay, common.ErrorBody{Errors: []common.ErrorItem{{Message: "Order has expired"}}})
			return
		}
		write(w, http.StatusCreated, map[string]string{"id": "p1"})
	})
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, map[string]any{"id": "o1", "status": status})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ep := client.Endpoints{}
	for _, s := range []string{"auth", "tickets", "orders", "payments"} {
		ep[s] = []string{srv.URL}
	}
	c, err := client.New(ep, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProbe(t *testing.T) {
	res, err := probe.Run(t.Context(), fake(t, http.StatusCreated, common.OrderComplete), probe.Options{Wait: time.Second, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ticket != "t1" || res.Order != "o1" || len(res.Records) != 5 {
		t.Fatalf("result %+v", res)
	}
	for _, r := range res.Records {
		if r.Outcome != workload.OutcomeAccepted || r.Seq != -1 {
			t.Errorf("record %+v", r)
		}
	}

	_, err = probe.Run(t.Context(), fake(t, http.StatusBadRequest, common.OrderCreated), probe.Options{Wait: time.Second, Poll: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "pay order o1: answered 400 Order has expired") {
		t.Errorf("refused payment: %v", err)
	}
	// Paid, but the order never completes.
	res, err = probe.Run(t.Context(), fake(t, http.StatusCreated, common.OrderCreated), probe.Options{Wait: 200 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "order o1 not complete") || res.Records[4].Outcome != workload.OutcomeAccepted {
		t.Errorf("never complete: %v %+v", err, res)
	}
}
