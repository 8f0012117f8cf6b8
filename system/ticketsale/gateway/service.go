package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

var _ service.Main = Main

// Spec is the gateway's runtime spec (no messaging).
var Spec = tsapp.Spec{Service: common.ServiceGateway, Migrations: []store.Migrations{Migrations}}

// HeaderIdempotencyKey is Stripe's idempotency header.
const HeaderIdempotencyKey = "Idempotency-Key"

// Main runs the fake payment gateway: POST /v1/charges, POST /v1/refunds,
// GET /v1/charges, GET and PUT /lab/knobs.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	return tsapp.Main(ctx, cfg, log, Spec, func(rt *tsapp.Runtime) error { _, err := Wire(rt); return err })
}

// Wire registers the routes on rt and returns the gateway.
func Wire(rt *tsapp.Runtime) (*Gateway, error) {
	k, err := KnobsFromSettings(rt.Config().Settings)
	if err != nil {
		return nil, err
	}
	g := New(rt.DB(), k, rt.Config().Seed)
	h := &handler{g: g, rt: rt}
	m := rt.Mux()
	m.HandleFunc("POST /v1/charges", h.charge)
	m.HandleFunc("GET /v1/charges", h.charges)
	m.HandleFunc("POST /v1/refunds", h.refund)
	m.HandleFunc("GET /lab/knobs", func(w http.ResponseWriter, _ *http.Request) { common.WriteJSON(w, http.StatusOK, g.Knobs()) })
	m.HandleFunc("PUT /lab/knobs", h.setKnobs)
	return g, nil
}

// ErrorBody is Stripe's error shape.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError is the error inside ErrorBody.
type APIError struct {
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

type handler struct {
	g  *Gateway
	rt *tsapp.Runtime
}

func invalid(w http.ResponseWriter, msg string) {
	common.WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: APIError{Type: "invalid_request_error", Message: msg}})
}

func (h *handler) charge(w http.ResponseWriter, r *http.Request) {
	var req ChargeRequest
	if err := common.DecodeBody(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	switch {
	case req.Amount <= 0:
		invalid(w, "amount must be a positive integer (cents)")
		return
	case req.Currency == "":
		invalid(w, "currency is required")
		return
	case req.Source == "":
		invalid(w, "source is required")
		return
	}
	c, out, err := h.g.Charge(r.Context(), req, r.Header.Get(HeaderIdempotencyKey), h.rt.Clock().Now())
	if err != nil {
		h.rt.Log().Error("Charge failed", "err", err)
		common.WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: APIError{Type: "api_error", Message: err.Error()}})
		return
	}
	switch out {
	case Declined:
		common.WriteJSON(w, http.StatusPaymentRequired, ErrorBody{Error: APIError{Type: "card_error", Code: "card_declined", Message: "Your card was declined."}})
	case ChargedTimedOut:
		h.rt.Log().Info("Charge taken, answered as timed out", "charge", c.ID, "order", c.OrderID)
		common.WriteJSON(w, http.StatusGatewayTimeout, ErrorBody{Error: APIError{Type: "api_error", Code: "timeout", Message: "gateway timeout"}})
	default:
		common.WriteJSON(w, http.StatusOK, c)
	}
}

func (h *handler) charges(w http.ResponseWriter, r *http.Request) {
	cs, err := h.g.Charges(r.Context(), r.URL.Query().Get("orderId"))
	if err != nil {
		common.WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: APIError{Type: "api_error", Message: err.Error()}})
		return
	}
	common.WriteJSON(w, http.StatusOK, cs)
}

// RefundRequest is the body of POST /v1/refunds.
type RefundRequest struct {
	Charge string `json:"charge"`
}

// Refund is the answer of POST /v1/refunds.
type Refund struct {
	ID     string `json:"id"`
	Charge string `json:"charge"`
}

func (h *handler) refund(w http.ResponseWriter, r *http.Request) {
	var req RefundRequest
	if err := common.DecodeBody(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	if req.Charge == "" {
		invalid(w, "charge is required")
		return
	}
	id, err := h.g.Refund(r.Context(), req.Charge, h.rt.Clock().Now())
	switch {
	case errors.Is(err, ErrNoCharge):
		common.WriteJSON(w, http.StatusNotFound, ErrorBody{Error: APIError{Type: "invalid_request_error", Code: "resource_missing", Message: err.Error()}})
	case err != nil:
		common.WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: APIError{Type: "api_error", Message: err.Error()}})
	default:
		common.WriteJSON(w, http.StatusOK, Refund{ID: id, Charge: req.Charge})
	}
}

func (h *handler) setKnobs(w http.ResponseWriter, r *http.Request) {
	var k Knobs
	if err := common.DecodeBody(r, &k); err != nil {
		common.WriteError(w, err)
		return
	}
	if err := h.g.SetKnobs(k); err != nil {
		common.WriteError(w, common.BadRequest(err.Error()))
		return
	}
	h.rt.Log().Info("Gateway knobs set", "knobs", k)
	common.WriteJSON(w, http.StatusOK, k)
}
