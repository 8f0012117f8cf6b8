//go:build integration

package payments_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

type lab struct {
	pay *tstest.Instance
	gw  *tstest.Instance
	b   *tstest.Broker
}

func startLab(t *testing.T, settings map[string]string) lab {
	t.Helper()
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	gw := tstest.Start(t, tstest.Config(t, common.ServiceGateway, url, 1, nil), gateway.Spec, func(rt *tsapp.Runtime) error {
		_, err := gateway.Wire(rt)
		return err
	})
	s := map[string]string{payments.SettingGatewayURL: gw.URL, payments.SettingRefundPoll: "100ms"}
	for k, v := range settings {
		s[k] = v
	}
	return lab{pay: tstest.Start(t, tstest.Config(t, common.ServicePayments, url, 1, s), payments.Spec, payments.Wire), gw: gw, b: tstest.Dial(t, url)}
}

func (l lab) order(t *testing.T, id string, expires time.Time) {
	t.Helper()
	l.b.Publish(t, common.SubjectOrderCreated, "", common.OrderCreatedEvent{ID: id, Status: common.OrderCreated, UserID: "buyer",
		ExpiresAt: common.FormatTime(expires), Ticket: common.TicketRef{ID: "t-" + id, Price: 20}})
	labtest.Eventually(t, 30*time.Second, func() error {
		o, err := payments.GetOrder(t.Context(), l.pay.RT.DB(), id)
		if err == nil && o == nil {
			err = fmt.Errorf("replica of %s absent", id)
		}
		return err
	})
}

func (l lab) charges(t *testing.T, order string) []gateway.Charge {
	t.Helper()
	cs, err := (&gateway.Client{BaseURL: l.gw.URL}).Charges(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestPaymentOverTheBroker(t *testing.T) {
	l := startLab(t, nil)
	created := l.b.Capture(t, common.SubjectPaymentCreated)
	l.order(t, "o1", time.Now().Add(time.Minute))
	buyer := tstest.NewUser(t, "buyer")
	if code, _ := l.pay.Do(t, nil, http.MethodPost, "/api/payments", payments.PaymentBody{Token: "tok_visa", OrderID: "o1"}); code != http.StatusUnauthorized {
		t.Errorf("no session: %d", code)
	}
	if code, body := l.pay.Do(t, buyer, http.MethodPost, "/api/payments", payments.PaymentBody{}); code != http.StatusBadRequest || !strings.Contains(string(body), "orderId") {
		t.Errorf("empty body: %d %s", code, body)
	}
	code, body := l.pay.Do(t, buyer, http.MethodPost, "/api/payments", payments.PaymentBody{Token: "tok_visa", OrderID: "o1"})
	if code != http.StatusCreated {
		t.Fatalf("pay: %d %s", code, body)
	}
	var p payments.Created
	tstest.Decode(t, body, &p)
	var ev common.PaymentCreated
	tstest.Receive(t, created, 30*time.Second, &ev)
	cs := l.charges(t, "o1")
	if ev.ID != p.ID || ev.OrderID != "o1" || len(cs) != 1 || ev.StripeID != cs[0].ID || cs[0].Amount != 2000 || cs[0].IdempotencyKey != "o1" {
		t.Errorf("payment:created %+v, charges %+v", ev, cs)
	}
	if code, body := l.pay.Do(t, buyer, http.MethodPost, "/api/payments", payments.PaymentBody{Token: "tok_visa", OrderID: "o1"}); code != http.StatusBadRequest || !strings.Contains(string(body), "Order already paid") {
		t.Errorf("second payment: %d %s", code, body)
	}
	if code, _ := l.pay.Do(t, buyer, http.MethodPost, "/api/payments", payments.PaymentBody{Token: gateway.DeclinedToken, OrderID: "nope"}); code != http.StatusNotFound {
		t.Errorf("unknown order: %d", code)
	}
}

// L2: two payment requests for one order. Faithful: two charges; fixed:
// one (and the second request refused).
func TestDoubleSubmit(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		t.Run(map[bool]string{false: "fixed", true: "faithful"}[faithful], func(t *testing.T) {
			settings := map[string]string{}
			if faithful {
				settings[string(common.PaymentGuards)] = common.ValueFaithful
			}
			l := startLab(t, settings)
			l.order(t, "o2", time.Now().Add(time.Minute))
			buyer := tstest.NewUser(t, "buyer")
			for range 2 {
				l.pay.Do(t, buyer, http.MethodPost, "/api/payments", payments.PaymentBody{Token: "tok_visa", OrderID: "o2"})
			}
			if n, want := len(l.charges(t, "o2")), map[bool]int{false: 1, true: 2}[faithful]; n != want {
				t.Errorf("%d charges, want %d", n, want)
			}
		})
	}
}

// L1's aftermath in fixed mode: the cancellation reaches payments after the
// charge; the refund loop refunds it through the gateway.
func TestChargeOfCancelledOrderIsRefunded(t *testing.T) {
	l := startLab(t, nil)
	l.order(t, "o3", time.Now().Add(time.Minute))
	if code, body := l.pay.Do(t, tstest.NewUser(t, "buyer"), http.MethodPost, "/api/payments", payments.PaymentBody{Token: "tok_visa", OrderID: "o3"}); code != http.StatusCreated {
		t.Fatalf("pay: %d %s", code, body)
	}
	l.b.Publish(t, common.SubjectOrderCancelled, "", common.OrderCancelledEvent{ID: "o3", Version: 1, Ticket: common.TicketRef{ID: "t-o3"}})
	labtest.Eventually(t, 30*time.Second, func() error {
		cs := l.charges(t, "o3")
		if len(cs) != 1 || !cs[0].Refunded {
			return fmt.Errorf("charges %+v, want one refunded", cs)
		}
		return nil
	})
}
