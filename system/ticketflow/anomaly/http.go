package anomaly

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// Broadcaster publishes a local change to every instance of the same app
// (anomalies-sync, routing key = AppName). Broadcast is called after the
// local change is applied, from the HTTP request goroutine, with the
// request's ctx; it must be safe for concurrent use.
type Broadcaster interface {
	Broadcast(ctx context.Context, change contracts.AnomalyEventWrapper) error
}

// Handler serves the anomaly API of one instance:
//
//	GET    /anomalies                                      → [View]
//	POST   /anomalies            {anomalyType, messageType, additionalParams}
//	DELETE /anomalies/{type}/messages/{messageType}
type Handler struct {
	reg *Registry
	bc  Broadcaster
	log *slog.Logger
	mux *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// NewHandler serves reg. bc nil means local only (no other instances); log nil discards.
func NewHandler(reg *Registry, bc Broadcaster, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{reg: reg, bc: bc, log: log.With("component", "anomaly-api"), mux: http.NewServeMux()}
	h.Register(h.mux)
	return h
}

// Register mounts the routes on mux (for services that serve more routes).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /anomalies", h.list)
	mux.HandleFunc("POST /anomalies", h.enable)
	mux.HandleFunc("DELETE /anomalies/{type}/messages/{messageType}", h.disable)
}

// ServeHTTP serves the three routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) list(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, h.reg.Views())
}

func (h *Handler) enable(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := httpjson.Decode(r, &req); err != nil {
		httpjson.Error(w, h.log, err)
		return
	}
	a, err := req.Parse()
	if err != nil {
		httpjson.Error(w, h.log, err)
		return
	}
	if _, err := h.reg.Enable(a); err != nil {
		httpjson.Error(w, h.log, err)
		return
	}
	if err := h.broadcast(r.Context(), EnabledEvent(a)); err != nil {
		httpjson.Error(w, h.log, err)
		return
	}
	httpjson.Write(w, http.StatusOK, View{AnomalyType: string(a.Type), MessageType: a.MessageType, Params: a.Params.Map(), Fired: h.reg.Fired(a.Type, a.MessageType)})
}

// DisableResult is the body of a DELETE answer (extension; the original
// answered 200 without a body).
type DisableResult struct {
	Removed bool `json:"removed"`
}

func (h *Handler) disable(w http.ResponseWriter, r *http.Request) {
	t, err := ParseType(r.PathValue("type"))
	if err != nil {
		httpjson.Error(w, h.log, err)
		return
	}
	msgType := r.PathValue("messageType")
	removed := h.reg.Disable(t, msgType)
	if err := h.broadcast(r.Context(), DisabledEvent(t, msgType)); err != nil {
		httpjson.Error(w, h.log, err)
		return
	}
	httpjson.Write(w, http.StatusOK, DisableResult{Removed: removed})
}

func (h *Handler) broadcast(ctx context.Context, change contracts.AnomalyEventWrapper) error {
	if h.bc == nil {
		return nil
	}
	if err := h.bc.Broadcast(ctx, change); err != nil {
		// The change is applied here; other instances did not hear of it.
		return &httpjson.StatusError{Code: http.StatusServiceUnavailable,
			Err: fmt.Errorf("applied on this instance, but the broadcast to other instances failed: %w", err)}
	}
	return nil
}
