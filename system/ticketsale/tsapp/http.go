package tsapp

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Health is the body of GET /health.
type Health struct {
	Status   string `json:"status"` // Healthy or Unhealthy
	Service  string `json:"service"`
	Instance string `json:"instance"`
	PID      int    `json:"pid"`
	Toggles  string `json:"toggles"`
	// AMQP is omitted for services without messaging.
	AMQP *AMQPHealth `json:"amqp,omitempty"`
	DB   DBHealth    `json:"db"`
}

// AMQPHealth says whether both connections are up, and counts handlings.
type AMQPHealth struct {
	Connected      bool  `json:"connected"`
	Handled        int64 `json:"handled"`
	Failed         int64 `json:"failed"`
	Retried        int64 `json:"retried"`
	AckWaitExpired int64 `json:"ackWaitExpired"`
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

// TogglesBody is the body of GET /lab/toggles.
type TogglesBody struct {
	Faithful    []common.Toggle    `json:"faithful"`
	VersionRule common.VersionMode `json:"versionRule"`
}

func (rt *Runtime) routes() {
	rt.mux.HandleFunc("GET /health", rt.health)
	rt.mux.HandleFunc("GET /lab/clock", rt.getClock)
	rt.mux.HandleFunc("POST /lab/clock", rt.setClock)
	rt.mux.HandleFunc("GET /lab/toggles", func(w http.ResponseWriter, _ *http.Request) {
		t := rt.set.Toggles
		common.WriteJSON(w, http.StatusOK, TogglesBody{Faithful: append([]common.Toggle{}, t.FaithfulList()...), VersionRule: t.Version})
	})
}

func (rt *Runtime) health(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "Healthy", Service: rt.cfg.Name, Instance: rt.cfg.ID(), PID: os.Getpid(), Toggles: rt.set.Toggles.String()}
	healthy := true
	if rt.bus != nil {
		st := rt.bus.Stats()
		h.AMQP = &AMQPHealth{Handled: st.Handled, Failed: st.HandlerErrors, Retried: st.Retried, AckWaitExpired: rt.expired.Load()}
		select {
		case <-rt.bus.Ready():
			h.AMQP.Connected = rt.bus.Connected()
		default:
		}
		healthy = h.AMQP.Connected
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
	if !healthy || !h.DB.OK {
		h.Status, code = "Unhealthy", http.StatusServiceUnavailable
	}
	common.WriteJSON(w, code, h)
}

func (rt *Runtime) getClock(w http.ResponseWriter, _ *http.Request) {
	common.WriteJSON(w, http.StatusOK, ClockBody{OffsetMs: rt.clk.Offset().Milliseconds(), Now: rt.clk.Now()})
}

func (rt *Runtime) setClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OffsetMs *int64 `json:"offsetMs"`
	}
	if err := common.DecodeBody(r, &body); err != nil {
		common.WriteError(w, err)
		return
	}
	if body.OffsetMs == nil {
		common.WriteError(w, common.BadRequest("offsetMs is required"))
		return
	}
	rt.clk.SetOffset(time.Duration(*body.OffsetMs) * time.Millisecond)
	rt.log.Info("Clock offset set", "offset_ms", *body.OffsetMs)
	rt.getClock(w, r)
}
