package orders

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

var _ service.Main = Main

// SettingExpirationWindow is how long a new order may be paid (default
// 60s, the course's final EXPIRATION_WINDOW_SECONDS).
const SettingExpirationWindow = "expiration-window"

// DefaultExpirationWindow is the window without the setting.
const DefaultExpirationWindow = 60 * time.Second

// Spec is the orders service's runtime spec.
var Spec = tsapp.Spec{Service: common.ServiceOrders, Messaging: true,
	Migrations: []store.Migrations{common.WriteLogMigrations, Migrations}}

// Main runs the orders service: /api/orders and the ticket:created,
// ticket:updated, expiration:complete and payment:created listeners.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	return tsapp.Main(ctx, cfg, log, Spec, Wire)
}

// Wire registers the listeners and routes on rt (Main without Run).
func Wire(rt *tsapp.Runtime) error {
	w := &wiring{rt: rt, window: DefaultExpirationWindow}
	if err := runtime.Duration(rt.Config().Settings, SettingExpirationWindow, &w.window); err != nil {
		return err
	}
	tsapp.ListenTo(rt, common.SubjectTicketCreated, tsapp.Silent(OnTicketCreated))
	tsapp.ListenTo(rt, common.SubjectTicketUpdated, tsapp.Silent(OnTicketUpdated))
	tsapp.ListenTo(rt, common.SubjectExpirationComplete, OnExpirationComplete)
	tsapp.ListenTo(rt, common.SubjectPaymentCreated, OnPaymentCreated)
	m := rt.Mux()
	m.HandleFunc("POST /api/orders", common.RequireAuth(w.create))
	m.HandleFunc("GET /api/orders", common.RequireAuth(w.list))
	m.HandleFunc("GET /api/orders/{id}", common.RequireAuth(w.show))
	m.HandleFunc("DELETE /api/orders/{id}", common.RequireAuth(w.cancel))
	return nil
}

type wiring struct {
	rt     *tsapp.Runtime
	window time.Duration
}

// OrderBody is the body of POST /api/orders.
type OrderBody struct {
	TicketID string `json:"ticketId"`
}

func (w *wiring) create(rw http.ResponseWriter, r *http.Request) {
	b, ok := common.ReadBody(rw, r, func(b OrderBody, v *common.Validation) {
		v.Check(strings.TrimSpace(b.TicketID) != "", "ticketId", "TicketId must be provided")
	})
	if !ok {
		return
	}
	tg := w.rt.Toggles()
	if tg.IsFaithful(common.ReserveAtomic) {
		// The course's check-then-insert: the check reads committed state
		// outside the transaction that inserts (L11).
		reserved, err := Reserved(r.Context(), w.rt.DB(), b.TicketID)
		if err != nil {
			common.WriteError(rw, err)
			return
		}
		if reserved {
			common.WriteError(rw, common.BadRequest("Ticket is already reserved"))
			return
		}
	}
	u, _ := common.UserFrom(r.Context())
	now := w.rt.Clock().Now()
	o := Order{ID: messaging.NewID(), UserID: u.ID, ExpiresAt: common.FormatTime(now.Add(w.window)), Ticket: Ticket{ID: b.TicketID}}
	err := w.rt.InTx(r.Context(), func(ctx context.Context, tx *messaging.Tx) error {
		var ev common.Event
		var err error
		o, ev, err = Place(ctx, tx.Tx, tg, o, now)
		if err != nil {
			return err
		}
		return w.rt.Publish(ctx, tx, ev)
	})
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	common.WriteJSON(rw, http.StatusCreated, o)
}

func (w *wiring) list(rw http.ResponseWriter, r *http.Request) {
	u, _ := common.UserFrom(r.Context())
	os, err := ListByUser(r.Context(), w.rt.DB(), u.ID)
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	common.WriteJSON(rw, http.StatusOK, os)
}

func (w *wiring) show(rw http.ResponseWriter, r *http.Request) {
	u, _ := common.UserFrom(r.Context())
	o, err := Get(r.Context(), w.rt.DB(), r.PathValue("id"))
	switch {
	case err != nil:
		common.WriteError(rw, err)
	case o == nil:
		common.WriteError(rw, common.ErrNotFoundHTTP)
	case o.UserID != u.ID:
		common.WriteError(rw, common.ErrNotAuthorized)
	default:
		common.WriteJSON(rw, http.StatusOK, o)
	}
}

func (w *wiring) cancel(rw http.ResponseWriter, r *http.Request) {
	u, _ := common.UserFrom(r.Context())
	var o *Order
	err := w.rt.InTx(r.Context(), func(ctx context.Context, tx *messaging.Tx) error {
		var evs []common.Event
		var err error
		o, evs, err = Cancel(ctx, tx.Tx, w.rt.Toggles(), r.PathValue("id"), u.ID, w.rt.Clock().Now())
		if err != nil {
			return err
		}
		return w.rt.PublishAll(ctx, tx, evs)
	})
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	w.rt.Log().Debug("Order cancelled by its user", "order", o.ID, "status", o.Status)
	rw.WriteHeader(http.StatusNoContent)
}
