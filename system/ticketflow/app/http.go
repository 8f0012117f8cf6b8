package app

import (
	"net/http"

	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// Health is the body of GET /health: the runtime's part (status, service,
// instance, pid, db) and Ticketflow's.
type Health struct {
	runtime.Health
	App      string           `json:"app"`
	AMQP     AMQPHealth       `json:"amqp"`
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

// health is the runtime's Spec.Health: Ticketflow's fields around base.
func (rt *Runtime) health(base runtime.Health, connected bool) any {
	bus := rt.Bus()
	st := bus.Stats()
	return Health{Health: base, App: rt.svc.AppName, Protections: bus.Protections().String(), Idempotency: rt.idempotency,
		AMQP:     AMQPHealth{Connected: connected, Reconnects: st.Reconnects},
		Messages: map[string]int64{"handled": st.Handled, "failed": st.HandlerErrors, "duplicates": st.Duplicates}}
}

// httpError answers err as {"message": ...} (httpjson.Error), logging 5xx.
func (rt *Runtime) httpError(w http.ResponseWriter, err error) { httpjson.Error(w, rt.Log(), err) }

func badRequest(msg string) error { return httpjson.Badf("%s", msg) }
