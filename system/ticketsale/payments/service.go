package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

var _ service.Main = Main

// Settings of the payments service.
const (
	// SettingGatewayURL is the fake gateway's base URL (required).
	SettingGatewayURL = "gateway-url"
	// SettingGatewayTimeout bounds one gateway call (default 10s).
	SettingGatewayTimeout = "gateway-timeout"
	// SettingRefundPoll is the refund loop's period (default 500ms).
	SettingRefundPoll = "refund-poll"
)

// Spec is the payments service's runtime spec.
var Spec = tsapp.Spec{Service: common.ServicePayments, Messaging: true,
	Migrations: []store.Migrations{common.WriteLogMigrations, Migrations}}

// Main runs the payments service: POST /api/payments, the order:created,
// order:cancelled and order:updated listeners, and the refund loop.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	return tsapp.Main(ctx, cfg, log, Spec, Wire)
}

// Wire registers listeners, routes and the refund loop on rt.
func Wire(rt *tsapp.Runtime) error {
	s := rt.Config().Settings
	url := s[SettingGatewayURL]
	if url == "" {
		return fmt.Errorf("setting %s is required", SettingGatewayURL)
	}
	timeout := 10 * time.Second
	poll, err := runtime.PositiveDuration(s, SettingRefundPoll, 500*time.Millisecond)
	if err := errors.Join(err, runtime.Duration(s, SettingGatewayTimeout, &timeout)); err != nil {
		return err
	}
	w := &wiring{rt: rt, gw: &gateway.Client{BaseURL: strings.TrimRight(url, "/"), HTTP: &http.Client{Timeout: timeout}}, poll: poll}
	tsapp.ListenTo(rt, common.SubjectOrderCreated, tsapp.Silent(OnOrderCreated))
	tsapp.ListenTo(rt, common.SubjectOrderCancelled, tsapp.Silent(OnOrderCancelled))
	tsapp.ListenTo(rt, common.SubjectOrderUpdated, tsapp.Silent(OnOrderUpdated))
	rt.Mux().HandleFunc("POST /api/payments", common.RequireAuth(w.pay))
	rt.Go("refunds", w.refunds)
	return nil
}

type wiring struct {
	rt   *tsapp.Runtime
	gw   *gateway.Client
	poll time.Duration
}

// PaymentBody is the body of POST /api/payments.
type PaymentBody struct {
	Token   string `json:"token"`
	OrderID string `json:"orderId"`
}

// Created is the answer of POST /api/payments (201).
type Created struct {
	ID string `json:"id"`
}

func (w *wiring) pay(rw http.ResponseWriter, r *http.Request) {
	b, ok := common.ReadBody(rw, r, func(b PaymentBody, v *common.Validation) {
		v.Check(strings.TrimSpace(b.Token) != "", "token", "Invalid value")
		v.Check(strings.TrimSpace(b.OrderID) != "", "orderId", "Invalid value")
	})
	if !ok {
		return
	}
	ctx := r.Context()
	u, _ := common.UserFrom(ctx)
	tg := w.rt.Toggles()
	o, err := GetOrder(ctx, w.rt.DB(), b.OrderID)
	if err == nil {
		err = CheckPayable(ctx, w.rt.DB(), tg, o, u.ID, w.rt.Clock().Now())
	}
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	key := ""
	if tg.Fixed(common.PaymentGuards) {
		key = o.ID
	}
	charge, err := w.gw.Charge(ctx, gateway.ChargeRequest{Amount: int64(math.Round(o.Price * 100)), Currency: "usd",
		Source: b.Token, OrderID: o.ID}, key)
	if err != nil {
		w.rt.Log().Warn("Charge failed", "order", o.ID, "err", err)
		common.WriteError(rw, err)
		return
	}
	p := Payment{ID: messaging.NewID(), OrderID: o.ID, StripeID: charge.ID}
	err = w.rt.InTx(ctx, func(ctx context.Context, tx *messaging.Tx) error {
		var evs []common.Event
		var err error
		p, evs, err = Record(ctx, tx.Tx, tg, p, w.rt.Clock().Now())
		if err != nil {
			return err
		}
		return w.rt.PublishAll(ctx, tx, evs)
	})
	if err != nil {
		common.WriteError(rw, err)
		return
	}
	common.WriteJSON(rw, http.StatusCreated, Created{ID: p.ID})
}

// refunds does the refunds the fixed mode queued, every poll.
func (w *wiring) refunds(ctx context.Context) error {
	t := time.NewTicker(w.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pending, err := PendingRefunds(ctx, w.rt.DB())
		if err != nil {
			w.rt.Log().Warn("Pending refunds unreadable", "err", err)
			continue
		}
		for _, p := range pending {
			ref, err := w.gw.Refund(ctx, p.StripeID)
			if err != nil {
				w.rt.Log().Warn("Refund failed; retried at the next round", "order", p.OrderID, "charge", p.StripeID, "err", err)
				continue
			}
			if err := w.rt.DB().InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
				return RefundDone(ctx, tx, p.PaymentID, ref.ID)
			}); err != nil {
				w.rt.Log().Warn("Refund not recorded", "order", p.OrderID, "err", err)
				continue
			}
			w.rt.Log().Info("Charge of a cancelled order refunded", "order", p.OrderID, "charge", p.StripeID, "refund", ref.ID)
		}
	}
}
