//go:build integration

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
	"github.com/ticketflow-lab/tflab/system/ticketsale/auth"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/expiration"
	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/orders"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

type system struct {
	auth, tickets, orders, expiration, payments, gateway *tstest.Instance
}

// start runs the six services on a fresh vhost with the settings of a
// profile of ticketsale.Variants.
func start(t *testing.T, profile string) system {
	t.Helper()
	tog, err := ticketsale.Variants().Resolve(profile)
	if err != nil {
		t.Fatal(err)
	}
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	cfg := func(name string, extra map[string]string) service.Config {
		u, s := tog.ApplyTo(nil, extra)
		c := tstest.Config(t, name, url, 1, s)
		c.Unprotect = u
		return c
	}
	var s system
	s.gateway = tstest.Start(t, cfg(common.ServiceGateway, nil), gateway.Spec, func(rt *tsapp.Runtime) error {
		_, err := gateway.Wire(rt)
		return err
	})
	s.auth = tstest.Start(t, cfg(common.ServiceAuth, nil), auth.Spec, tstest.WireErr(auth.Wire))
	s.expiration = tstest.Start(t, cfg(common.ServiceExpiration, nil), expiration.Spec, expiration.Wire)
	s.payments = tstest.Start(t, cfg(common.ServicePayments, map[string]string{payments.SettingGatewayURL: s.gateway.URL}), payments.Spec, payments.Wire)
	s.tickets = tstest.Start(t, cfg(common.ServiceTickets, nil), tickets.Spec, tstest.WireErr(tickets.Wire))
	s.orders = tstest.Start(t, cfg(common.ServiceOrders, map[string]string{orders.SettingExpirationWindow: "10m"}), orders.Spec, orders.Wire)
	return s
}

// until polls a request until it answers want, and returns the body.
func until(t *testing.T, in *tstest.Instance, session *http.Cookie, method, path string, body any, want int) []byte {
	t.Helper()
	var got []byte
	labtest.Eventually(t, 60*time.Second, func() error {
		code, b, err := tstest.Request(context.Background(), in.URL, session, method, path, body)
		if err != nil {
			return err
		}
		if code != want {
			return fmt.Errorf("%s %s: %d %s, want %d", method, path, code, b, want)
		}
		got = b
		return nil
	})
	return got
}

func signup(t *testing.T, s system, email string) *http.Cookie {
	t.Helper()
	code, _, err := tstest.Request(t.Context(), s.auth.URL, nil, http.MethodPost, "/api/users/signup", auth.Credentials{Email: email, Password: "password"})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("signup: %d %v", code, err)
	}
	// The course's client keeps the cookie; here signin hands it over.
	resp, err := http.Post(s.auth.URL+"/api/users/signin", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"password"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == common.SessionCookie {
			return c
		}
	}
	t.Fatalf("signin set no session cookie (%d)", resp.StatusCode)
	return nil
}

func orderStatus(t *testing.T, s system, user *http.Cookie, id string, want common.OrderStatus) {
	t.Helper()
	labtest.Eventually(t, 60*time.Second, func() error {
		code, b, err := tstest.Request(context.Background(), s.orders.URL, user, http.MethodGet, "/api/orders/"+id, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("get order: %d %v", code, err)
		}
		var o orders.Order
		tstest.Decode(t, b, &o)
		if o.Status != want {
			return fmt.Errorf("order %s is %s, want %s", id, o.Status, want)
		}
		return nil
	})
}

func ticketHeldBy(t *testing.T, s system, id, order string) {
	t.Helper()
	labtest.Eventually(t, 60*time.Second, func() error {
		tk, err := tickets.Get(context.Background(), s.tickets.RT.DB(), id)
		if err != nil || tk == nil {
			return fmt.Errorf("ticket %s: %v", id, err)
		}
		if tk.OrderID != order {
			return fmt.Errorf("ticket %s held by %q, want %q", id, tk.OrderID, order)
		}
		return nil
	})
}

func replicaStatus(t *testing.T, s system, id string) common.OrderStatus {
	t.Helper()
	o, err := payments.GetOrder(t.Context(), s.payments.RT.DB(), id)
	if err != nil || o == nil {
		t.Fatalf("payments replica %s: %v %v", id, o, err)
	}
	return o.Status
}

// signup → create ticket → order → pay → order complete, across all five
// services and the gateway; then an unpaid order expires and frees its
// ticket while the paid one stays complete.
func TestBuyAndPay(t *testing.T) {
	for _, profile := range []string{ticketsale.ProfileFixed, ticketsale.ProfileCourse} {
		t.Run(profile, func(t *testing.T) {
			s := start(t, profile)
			seller := signup(t, s, "seller@test.dev")
			buyer := signup(t, s, "buyer@test.dev")

			var tk tickets.Ticket
			tstest.Decode(t, until(t, s.tickets, seller, http.MethodPost, "/api/tickets", tickets.TicketBody{Title: "concert", Price: 20}, http.StatusCreated), &tk)
			var o orders.Order
			tstest.Decode(t, until(t, s.orders, buyer, http.MethodPost, "/api/orders", orders.OrderBody{TicketID: tk.ID}, http.StatusCreated), &o)
			ticketHeldBy(t, s, tk.ID, o.ID)
			var p payments.Created
			tstest.Decode(t, until(t, s.payments, buyer, http.MethodPost, "/api/payments", payments.PaymentBody{Token: "tok_visa", OrderID: o.ID}, http.StatusCreated), &p)
			orderStatus(t, s, buyer, o.ID, common.OrderComplete)

			cs, err := (&gateway.Client{BaseURL: s.gateway.URL}).Charges(t.Context(), o.ID)
			if err != nil || len(cs) != 1 || cs[0].Amount != 2000 {
				t.Errorf("charges of the order: %+v %v", cs, err)
			}
			// L12: only the fixed mode tells payments the order is complete.
			if profile == ticketsale.ProfileFixed {
				labtest.Eventually(t, 60*time.Second, func() error {
					if st := replicaStatus(t, s, o.ID); st != common.OrderComplete {
						return fmt.Errorf("payments replica is %s", st)
					}
					return nil
				})
			} else if st := replicaStatus(t, s, o.ID); st != common.OrderCreated {
				t.Errorf("course: payments replica is %s, want created (L12)", st)
			}

			var tk2 tickets.Ticket
			tstest.Decode(t, until(t, s.tickets, seller, http.MethodPost, "/api/tickets", tickets.TicketBody{Title: "opera", Price: 30}, http.StatusCreated), &tk2)
			var o2 orders.Order
			tstest.Decode(t, until(t, s.orders, buyer, http.MethodPost, "/api/orders", orders.OrderBody{TicketID: tk2.ID}, http.StatusCreated), &o2)
			ticketHeldBy(t, s, tk2.ID, o2.ID)
			labtest.Eventually(t, 60*time.Second, func() error {
				if n := tstest.Count(t, s.expiration.RT.DB(), `SELECT COUNT(*) FROM jobs WHERE order_id = ?`, o2.ID); n == 0 {
					return tstest.ErrPending
				}
				return nil
			})
			// Jump the expiration clock past both windows.
			if code, b := s.expiration.Do(t, nil, http.MethodPost, "/lab/clock", map[string]int64{"offsetMs": int64(time.Hour / time.Millisecond)}); code != http.StatusOK {
				t.Fatalf("set clock: %d %s", code, b)
			}
			orderStatus(t, s, buyer, o2.ID, common.OrderCancelled)
			ticketHeldBy(t, s, tk2.ID, "")
			orderStatus(t, s, buyer, o.ID, common.OrderComplete)
			ticketHeldBy(t, s, tk.ID, o.ID)
		})
	}
}
