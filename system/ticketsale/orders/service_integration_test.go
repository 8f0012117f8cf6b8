//go:build integration

package orders_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/orders"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func startOrders(t *testing.T, url string, settings map[string]string) *tstest.Instance {
	t.Helper()
	return tstest.Start(t, tstest.Config(t, common.ServiceOrders, url, 1, settings), orders.Spec, orders.Wire)
}

func replicaPrice(t *testing.T, in *tstest.Instance, id string) (float64, int64, error) {
	tk, err := orders.GetTicket(t.Context(), in.RT.DB(), id)
	if err != nil {
		return 0, 0, err
	}
	if tk == nil {
		return 0, 0, fmt.Errorf("replica %s absent", id)
	}
	return tk.Price, tk.Version, nil
}

func waitPrice(t *testing.T, in *tstest.Instance, id string, price float64, version int64) {
	t.Helper()
	labtest.Eventually(t, 30*time.Second, func() error {
		p, v, err := replicaPrice(t, in, id)
		if err != nil {
			return err
		}
		if p != price || v != version {
			return fmt.Errorf("replica at price %v version %d, want %v at %d", p, v, price, version)
		}
		return nil
	})
}

func TestOrdersFlowOverTheBroker(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	in := startOrders(t, url, nil)
	b := tstest.Dial(t, url)
	createdCh := b.Capture(t, common.SubjectOrderCreated)
	cancelledCh := b.Capture(t, common.SubjectOrderCancelled)

	b.Publish(t, common.SubjectTicketCreated, "", common.TicketCreated{ID: "t1", Title: "concert", Price: 5, UserID: "seller"})
	waitPrice(t, in, "t1", 5, 0)
	b.Publish(t, common.SubjectTicketUpdated, "", common.TicketUpdated{ID: "t1", Version: 1, Title: "concert", Price: 10, UserID: "seller"})
	waitPrice(t, in, "t1", 10, 1)

	buyer := tstest.NewUser(t, "buyer")
	if code, body := in.Do(t, nil, http.MethodPost, "/api/orders", orders.OrderBody{TicketID: "t1"}); code != http.StatusUnauthorized {
		t.Errorf("no session: %d %s", code, body)
	}
	if code, body := in.Do(t, buyer, http.MethodPost, "/api/orders", "{"); code != http.StatusBadRequest || !strings.Contains(string(body), "message") {
		t.Errorf("bad body: %d %s", code, body)
	}
	if code, body := in.Do(t, buyer, http.MethodPost, "/api/orders", orders.OrderBody{}); code != http.StatusBadRequest || !strings.Contains(string(body), "TicketId must be provided") {
		t.Errorf("no ticketId: %d %s", code, body)
	}
	if code, _ := in.Do(t, buyer, http.MethodPost, "/api/orders", orders.OrderBody{TicketID: "nope"}); code != http.StatusNotFound {
		t.Errorf("unknown ticket: %d", code)
	}
	code, body := in.Do(t, buyer, http.MethodPost, "/api/orders", orders.OrderBody{TicketID: "t1"})
	if code != http.StatusCreated {
		t.Fatalf("create order: %d %s", code, body)
	}
	var o orders.Order
	tstest.Decode(t, body, &o)
	var ev common.OrderCreatedEvent
	d := tstest.Receive(t, createdCh, 30*time.Second, &ev)
	if ev.ID != o.ID || ev.Ticket.ID != "t1" || ev.Ticket.Price != 10 || ev.Status != common.OrderCreated || ev.ExpiresAt != o.ExpiresAt || d.Type != common.SubjectOrderCreated {
		t.Errorf("order:created %+v (type %s) for order %+v", ev, d.Type, o)
	}
	if code, body := in.Do(t, buyer, http.MethodPost, "/api/orders", orders.OrderBody{TicketID: "t1"}); code != http.StatusBadRequest || !strings.Contains(string(body), "Ticket is already reserved") {
		t.Errorf("second order: %d %s", code, body)
	}
	if code, _ := in.Do(t, tstest.NewUser(t, "other"), http.MethodGet, "/api/orders/"+o.ID, nil); code != http.StatusUnauthorized {
		t.Errorf("another user's order: %d", code)
	}
	if code, _ := in.Do(t, buyer, http.MethodDelete, "/api/orders/"+o.ID, nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	var cev common.OrderCancelledEvent
	tstest.Receive(t, cancelledCh, 30*time.Second, &cev)
	if cev.ID != o.ID || cev.Version != 1 || cev.Ticket.ID != "t1" {
		t.Errorf("order:cancelled %+v", cev)
	}
}

// A handling that fails (an update before its ticket exists) is delivered
// again after ackWait and then applies.
func TestFailedHandlingIsRedeliveredAfterAckWait(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	in := startOrders(t, url, map[string]string{tsapp.SettingAckWait: "500ms"})
	b := tstest.Dial(t, url)
	b.Publish(t, common.SubjectTicketUpdated, "", common.TicketUpdated{ID: "t2", Version: 1, Title: "x", Price: 10})
	labtest.Eventually(t, 30*time.Second, func() error {
		if n := in.RT.Bus().Stats().Retried; n < 1 {
			return fmt.Errorf("%d retries", n)
		}
		return nil
	})
	b.Publish(t, common.SubjectTicketCreated, "", common.TicketCreated{ID: "t2", Title: "x", Price: 5})
	waitPrice(t, in, "t2", 10, 1)
}

// A handling slower than ackWait: the message comes back while it runs.
// With createIdempotent fixed the copy changes nothing; faithful, its
// insert fails and it is redelivered again and again (L6).
func TestSlowHandlingOutlivesAckWait(t *testing.T) {
	for _, faithful := range []bool{false, true} {
		t.Run(map[bool]string{false: "fixed", true: "faithful"}[faithful], func(t *testing.T) {
			url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
			settings := map[string]string{tsapp.SettingAckWait: "300ms", tsapp.SettingHandlerDelay: "600ms"}
			if faithful {
				settings[string(common.CreateIdempotent)] = common.ValueFaithful
			}
			in := startOrders(t, url, settings)
			b := tstest.Dial(t, url)
			b.Publish(t, common.SubjectTicketCreated, "", common.TicketCreated{ID: "t3", Title: "x", Price: 5})
			waitPrice(t, in, "t3", 5, 0)
			labtest.Eventually(t, 30*time.Second, func() error {
				st := in.RT.Bus().Stats()
				if in.RT.AckWaitExpired() < 1 {
					return fmt.Errorf("no handling outlived ackWait yet")
				}
				if faithful && st.HandlerErrors < 2 {
					return fmt.Errorf("%d failed handlings, want the duplicate failing repeatedly", st.HandlerErrors)
				}
				if !faithful && st.Handled < 2 {
					return fmt.Errorf("%d handlings, want the copy handled too", st.Handled)
				}
				return nil
			})
			if !faithful && in.RT.Bus().Stats().HandlerErrors != 0 {
				t.Errorf("fixed: %d failed handlings", in.RT.Bus().Stats().HandlerErrors)
			}
			if n := tstest.Count(t, in.RT.DB(), `SELECT COUNT(*) FROM writes WHERE entity = ? AND id = 't3'`, common.EntityTicketReplica); n != 1 {
				t.Errorf("replica written %d times, want 1", n)
			}
		})
	}
}

// The course's experiment in small (TS13): two orders replicas on one
// store, create(5) → update(10) → update(15) for many tickets published
// back to back; the version rule (fixed) brings every replica row to 15.
func TestTwoReplicasConvergeOnTheLastPrice(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	settings := map[string]string{tsapp.SettingAckWait: "300ms"}
	cfg := tstest.Config(t, common.ServiceOrders, url, 1, settings)
	first := tstest.Start(t, cfg, orders.Spec, orders.Wire)
	cfg2 := cfg
	cfg2.Instance = 2
	second := tstest.Start(t, cfg2, orders.Spec, orders.Wire)
	b := tstest.Dial(t, url)
	const n = 40
	for i := range n {
		id := fmt.Sprintf("race-%d", i)
		b.Publish(t, common.SubjectTicketCreated, "", common.TicketCreated{ID: id, Title: "x", Price: 5})
		b.Publish(t, common.SubjectTicketUpdated, "", common.TicketUpdated{ID: id, Version: 1, Title: "x", Price: 10})
		b.Publish(t, common.SubjectTicketUpdated, "", common.TicketUpdated{ID: id, Version: 2, Title: "x", Price: 15})
	}
	labtest.Eventually(t, 90*time.Second, func() error {
		if got := tstest.Count(t, first.RT.DB(), `SELECT COUNT(*) FROM tickets WHERE price = 15 AND version = 2`); got != n {
			return fmt.Errorf("%d of %d tickets at price 15", got, n)
		}
		return nil
	})
	if h1, h2 := first.RT.Bus().Stats().Handled, second.RT.Bus().Stats().Handled; h1 == 0 || h2 == 0 {
		t.Logf("handlings per replica: %d and %d (one replica took them all)", h1, h2)
	}
	var h tsapp.Health
	code, body := second.Do(t, nil, http.MethodGet, "/health", nil)
	tstest.Decode(t, body, &h)
	if code != http.StatusOK || h.Status != "Healthy" || h.AMQP == nil || !h.AMQP.Connected || h.Instance != "orders-2" {
		t.Errorf("health: %d %s", code, body)
	}
}
