package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// Health is the runtime's part of the body of GET /health; a system's
// Spec.Health adds its own fields around it.
type Health struct {
	// Status is "Healthy" (200) or "Unhealthy" (503): unhealthy when the
	// store does not answer, or a service with a bus has an AMQP connection
	// closed.
	Status   string   `json:"status"`
	Service  string   `json:"service"`
	Instance string   `json:"instance"`
	PID      int      `json:"pid"`
	DB       DBHealth `json:"db"`
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

// JSON is how a system reads request bodies and answers errors; the
// runtime's own routes use it so their answers look like the system's.
type JSON struct {
	// Decode reads a request body into v; its errors are answered with Error.
	Decode func(r *http.Request, v any) error
	// BadRequest is the system's 400 error with msg.
	BadRequest func(msg string) error
	// Error answers err with its status in the system's error format.
	Error func(w http.ResponseWriter, err error)
}

// badRequest is the default JSON's 400 error.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// orDefault fills nil fields with plain JSON: {"message": ...}, 400 for a
// bad body, 500 for anything else.
func (j JSON) orDefault() JSON {
	if j.Decode == nil {
		j.Decode = func(r *http.Request, v any) error {
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
				return badRequest{"invalid JSON body: " + err.Error()}
			}
			return nil
		}
	}
	if j.BadRequest == nil {
		j.BadRequest = func(msg string) error { return badRequest{msg} }
	}
	if j.Error == nil {
		j.Error = func(w http.ResponseWriter, err error) {
			code := http.StatusInternalServerError
			if _, ok := errors.AsType[badRequest](err); ok {
				code = http.StatusBadRequest
			}
			WriteJSON(w, code, map[string]string{"message": err.Error()})
		}
	}
	return j
}

// WriteJSON writes v as JSON with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// routes mounts the runtime's own routes.
func (rt *Runtime) routes() {
	rt.mux.HandleFunc("GET /health", rt.health)
	rt.mux.HandleFunc("GET /lab/clock", rt.getClock)
	rt.mux.HandleFunc("POST /lab/clock", rt.setClock)
}

func (rt *Runtime) health(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "Healthy", Service: rt.cfg.Name, Instance: rt.cfg.ID(), PID: os.Getpid()}
	connected := false
	if rt.bus != nil {
		select {
		case <-rt.bus.Ready():
			connected = rt.bus.Connected()
		default:
		}
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
	if rt.bus != nil && !connected || !h.DB.OK {
		h.Status, code = "Unhealthy", http.StatusServiceUnavailable
	}
	var body any = h
	if rt.spec.Health != nil {
		body = rt.spec.Health(h, connected)
	}
	WriteJSON(w, code, body)
}

func (rt *Runtime) getClock(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, ClockBody{OffsetMs: rt.clk.Offset().Milliseconds(), Now: rt.clk.Now()})
}

func (rt *Runtime) setClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OffsetMs *int64 `json:"offsetMs"`
	}
	if err := rt.json.Decode(r, &body); err != nil {
		rt.json.Error(w, err)
		return
	}
	if body.OffsetMs == nil {
		rt.json.Error(w, rt.json.BadRequest("offsetMs is required"))
		return
	}
	rt.clk.SetOffset(time.Duration(*body.OffsetMs) * time.Millisecond)
	rt.log.Info("Clock offset set", "offset_ms", *body.OffsetMs)
	rt.getClock(w, r)
}

// CORS allows any origin (Ticketflow's original policy, for the web
// console).
func CORS(next http.Handler) http.Handler {
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

// TraceContext continues the caller's trace: the W3C traceparent/tracestate
// (and baggage) of the request become the remote parent in the request's
// context, so a span started from r.Context() joins the caller's trace. A
// request without them is unchanged.
func TraceContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" || r.Header.Get("baggage") != "" {
			r = r.WithContext(otelamqp.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		next.ServeHTTP(w, r)
	})
}
