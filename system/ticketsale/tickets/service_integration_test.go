//go:build integration

package tickets_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tstest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func TestTicketsFlowOverTheBroker(t *testing.T) {
	url := labtest.VHost(t, labtest.UniqueName(t, "ts"))
	in := tstest.Start(t, tstest.Config(t, common.ServiceTickets, url, 1, nil), tickets.Spec, tstest.WireErr(tickets.Wire))
	b := tstest.Dial(t, url)
	createdCh := b.Capture(t, common.SubjectTicketCreated)
	updatedCh := b.Capture(t, common.SubjectTicketUpdated)
	seller := tstest.NewUser(t, "seller")

	if code, _ := in.Do(t, nil, http.MethodPost, "/api/tickets", tickets.TicketBody{Title: "a", Price: 1}); code != http.StatusUnauthorized {
		t.Errorf("no session: %d", code)
	}
	code, body := in.Do(t, seller, http.MethodPost, "/api/tickets", tickets.TicketBody{Title: "", Price: -1})
	if code != http.StatusBadRequest || !strings.Contains(string(body), "Title is required") || !strings.Contains(string(body), "Price must be greater than 0") {
		t.Errorf("invalid ticket: %d %s", code, body)
	}
	if code, body := in.Do(t, seller, http.MethodPost, "/api/tickets", `{"title":"a","price":"ten"}`); code != http.StatusBadRequest || !strings.Contains(string(body), "message") {
		t.Errorf("price as text: %d %s", code, body)
	}
	code, body = in.Do(t, seller, http.MethodPost, "/api/tickets", tickets.TicketBody{Title: "concert", Price: 20})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var tk tickets.Ticket
	tstest.Decode(t, body, &tk)
	var cev common.TicketCreated
	tstest.Receive(t, createdCh, 30*time.Second, &cev)
	if cev != (common.TicketCreated{ID: tk.ID, Version: 0, Title: "concert", Price: 20, UserID: "seller"}) {
		t.Errorf("ticket:created %+v", cev)
	}
	if code, _ := in.Do(t, seller, http.MethodPut, "/api/tickets/"+tk.ID, tickets.TicketBody{Title: "concert", Price: 25}); code != http.StatusOK {
		t.Errorf("update: %d", code)
	}
	var uev common.TicketUpdated
	tstest.Receive(t, updatedCh, 30*time.Second, &uev)
	if uev.Version != 1 || uev.Price != 25 || uev.OrderID != "" {
		t.Errorf("ticket:updated %+v", uev)
	}

	b.Publish(t, common.SubjectOrderCreated, "", common.OrderCreatedEvent{ID: "o1", Status: common.OrderCreated, UserID: "buyer",
		ExpiresAt: common.FormatTime(time.Now().Add(time.Minute)), Ticket: common.TicketRef{ID: tk.ID, Price: 25}})
	tstest.Receive(t, updatedCh, 30*time.Second, &uev)
	if uev.Version != 2 || uev.OrderID != "o1" {
		t.Errorf("reservation's ticket:updated %+v", uev)
	}
	code, body = in.Do(t, seller, http.MethodPut, "/api/tickets/"+tk.ID, tickets.TicketBody{Title: "concert", Price: 30})
	if code != http.StatusBadRequest || !strings.Contains(string(body), "Cannot edit a reserved ticket") {
		t.Errorf("edit reserved: %d %s", code, body)
	}
	var free []tickets.Ticket
	_, body = in.Do(t, nil, http.MethodGet, "/api/tickets", nil)
	tstest.Decode(t, body, &free)
	if len(free) != 0 {
		t.Errorf("reserved ticket listed as free: %+v", free)
	}
	b.Publish(t, common.SubjectOrderCancelled, "", common.OrderCancelledEvent{ID: "o1", Version: 1, Ticket: common.TicketRef{ID: tk.ID}})
	uev = common.TicketUpdated{} // orderId is omitted when empty
	tstest.Receive(t, updatedCh, 30*time.Second, &uev)
	if uev.Version != 3 || uev.OrderID != "" {
		t.Errorf("release's ticket:updated %+v", uev)
	}
	if code, _ := in.Do(t, nil, http.MethodGet, "/api/tickets/nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown ticket: %d", code)
	}
}
