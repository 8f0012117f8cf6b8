package tickets

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

var _ service.Main = Main

// Spec is the tickets service's runtime spec.
var Spec = tsapp.Spec{Service: common.ServiceTickets, Messaging: true,
	Migrations: []store.Migrations{common.WriteLogMigrations, Migrations}}

// Main runs the tickets service: /api/tickets and the order:created and
// order:cancelled listeners.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	return tsapp.Main(ctx, cfg, log, Spec, func(rt *tsapp.Runtime) error { Wire(rt); return nil })
}

// Wire registers the listeners and routes on rt (Main without Run).
func Wire(rt *tsapp.Runtime) {
	w := &wiring{rt: rt}
	tsapp.ListenTo(rt, common.SubjectOrderCreated, OnOrderCreated)
	tsapp.ListenTo(rt, common.SubjectOrderCancelled, OnOrderCancelled)
	m := rt.Mux()
	m.HandleFunc("POST /api/tickets", common.RequireAuth(w.create))
	m.HandleFunc("GET /api/tickets", w.list)
	m.HandleFunc("GET /api/tickets/{id}", w.show)
	m.HandleFunc("PUT /api/tickets/{id}", common.RequireAuth(w.update))
}

type wiring struct{ rt *tsapp.Runtime }

// TicketBody is the body of POST and PUT /api/tickets.
type TicketBody struct {
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

func (b TicketBody) check(v *common.Validation) {
	v.Check(strings.TrimSpace(b.Title) != "", "title", "Title is required")
	v.Check(b.Price > 0, "price", "Price must be greater than 0")
}

func (w *wiring) create(rw http.ResponseWriter, r *http.Request) {
	b, ok := common.ReadBody(rw, r, TicketBody.check)
	if !ok {
		return
	}
	u, _ := common.UserFrom(r.Context())
	t := Ticket{ID: messaging.NewID(), Title: b.Title, Price: b.Price, UserID: u.ID}
	err := w.rt.InTx(r.Context(), func(ctx context.Context, tx *messaging.Tx) error {
		ev, err := Create(ctx, tx.Tx, t, w.rt.Clock().Now())
		if err != nil {
			return err
		}
		return w.rt.Publish(ctx, tx, ev)
	})
	if err != nil {
		w.rt.Log().Error("Create ticket failed", "err", err)
		common.WriteError(rw, err)
		return
	}
	common.WriteJSON(rw, http.StatusCreated, t)
}

func (w *wiring) list(rw http.ResponseWriter, r *http.Request) {
	ts, err := ListFree(r.Context(), w.rt.DB())
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	common.WriteJSON(rw, http.StatusOK, ts)
}

func (w *wiring) show(rw http.ResponseWriter, r *http.Request) {
	t, err := Get(r.Context(), w.rt.DB(), r.PathValue("id"))
	switch {
	case err != nil:
		common.WriteError(rw, err)
	case t == nil:
		common.WriteError(rw, common.ErrNotFoundHTTP)
	default:
		common.WriteJSON(rw, http.StatusOK, t)
	}
}

func (w *wiring) update(rw http.ResponseWriter, r *http.Request) {
	b, ok := common.ReadBody(rw, r, TicketBody.check)
	if !ok {
		return
	}
	u, _ := common.UserFrom(r.Context())
	var t Ticket
	err := w.rt.InTx(r.Context(), func(ctx context.Context, tx *messaging.Tx) error {
		var ev common.Event
		var err error
		t, ev, err = Update(ctx, tx.Tx, r.PathValue("id"), u.ID, b.Title, b.Price, w.rt.Clock().Now())
		if err != nil {
			return err
		}
		return w.rt.Publish(ctx, tx, ev)
	})
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	common.WriteJSON(rw, http.StatusOK, t)
}
