package app

import (
	"context"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// Health is the body of GET /health.
type Health struct {
	// Status is "Healthy" (200) or "Unhealthy" (503).
	Status   string           `json:"status"`
	Service  string           `json:"service"`
	App      string           `json:"app"`
	Instance string           `json:"instance"`
	PID      int              `json:"pid"`
	AMQP     AMQPHealth       `json:"amqp"`
	DB       DBHealth         `json:"db"`
	Messages map[string]int64 `json:"messages"`
	// Protections is "all on" or "off: dedup,outbox" (messaging layer).
	Protections string `json:"protections"`
	Idempotency bool   `json:"idempotency"`
}

// AMQPHealth says whether the bus is up.
type AMQPHealth struct {
	// Connected is true while both AMQP connections (producer and consumer)
	// are open, once every consumer of the instance has started consuming.
	// It turns false as soon as a link is closed or reset (a silent link: at
	// the next missed heartbeat) and true again when the bus reconnected.
	Connected  bool  `json:"connected"`
	Reconnects int64 `json:"reconnects"`
}

// DBHealth says whether the store answers.
type DBHealth struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ClockBody is the body of GET and POST /lab/clock.
type ClockBody struct {
	OffsetMs int64     `json:"offsetMs"`
	Now      time.Time `json:"now"`
}

// routes mounts the runtime's own routes.
func (rt *Runtime) routes() {
	rt.mux.HandleFunc("GET /health", rt.health)
	rt.mux.HandleFunc("GET /lab/clock", rt.getClock)
	rt.mux.HandleFunc("POST /lab/clock", rt.setClock)
	anomaly.NewHandler(rt.reg, rt, rt.log).Register(rt.mux)
}

func (rt *Runtime) health(w http.ResponseWriter, r *http.Request) {
	st := rt.bus.Stats()
	h := Health{Status: "Healthy", Service: rt.cfg.Name, App: rt.svc.AppName, Instance: rt.cfg.ID(), PID: os.Getpid(),
		Protections: rt.bus.Protections().String(), Idempotency: rt.idempotency,
		AMQP:     AMQPHealth{Reconnects: st.Reconnects},
		Messages: map[string]int64{"handled": st.Handled, "failed": st.HandlerErrors, "duplicates": st.Duplicates}}
	select {
	case <-rt.bus.Ready():
		h.AMQP.Connected = rt.bus.Connected()
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var one int
	if err := rt.db.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		h.DB.Error = err.Error()
	} else {
		h.DB.OK = true
	}
	code := http.StatusOK
	if !h.AMQP.Connected || !h.DB.OK {
		h.Status, code = "Unhealthy", http.StatusServiceUnavailable
	}
	httpjson.Write(w, code, h)
}

func (rt *Runtime) getClock(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, ClockBody{OffsetMs: rt.clk.Offset().Milliseconds(), Now: rt.clk.Now()})
}

func (rt *Runtime) setClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OffsetMs *int64 `json:"offsetMs"`
	}
	if err := httpjson.Decode(r, &body); err != nil {
		httpjson.Error(w, rt.log, err)
		return
	}
	if body.OffsetMs == nil {
		httpjson.Error(w, rt.log, httpjson.Badf("offsetMs is required"))
		return
	}
	rt.clk.SetOffset(time.Duration(*body.OffsetMs) * time.Millisecond)
	rt.log.Info("Clock offset set", "offset_ms", *body.OffsetMs)
	rt.getClock(w, r)
}

// cors allows any origin (the original's policy, for the web console).
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		} else {
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// traceContext continues the caller's trace: the W3C traceparent/tracestate
// (and baggage) of the request become the remote parent in the request's
// context, so a command span (Exec) started from r.Context() joins the
// caller's trace (the workload's per-submission trace, or the calling
// service's span). A request without them is unchanged.
func traceContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" || r.Header.Get("baggage") != "" {
			r = r.WithContext(otelamqp.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		next.ServeHTTP(w, r)
	})
}
