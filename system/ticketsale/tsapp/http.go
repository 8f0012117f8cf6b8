package tsapp

import (
	"net/http"

	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Health is the body of GET /health: the runtime's part (status, service,
// instance, pid, db) and ticketsale's.
type Health struct {
	runtime.Health
	Toggles string `json:"toggles"`
	// AMQP is omitted for services without messaging.
	AMQP *AMQPHealth `json:"amqp,omitempty"`
}

// AMQPHealth says whether both connections are up, and counts handlings.
type AMQPHealth struct {
	Connected      bool  `json:"connected"`
	Handled        int64 `json:"handled"`
	Failed         int64 `json:"failed"`
	Retried        int64 `json:"retried"`
	AckWaitExpired int64 `json:"ackWaitExpired"`
}

// TogglesBody is the body of GET /lab/toggles.
type TogglesBody struct {
	Faithful    []common.Toggle    `json:"faithful"`
	VersionRule common.VersionMode `json:"versionRule"`
}

// health is the runtime's Spec.Health: ticketsale's fields around base.
func (rt *Runtime) health(base runtime.Health, connected bool) any {
	h := Health{Health: base, Toggles: rt.set.Toggles.String()}
	if bus := rt.Bus(); bus != nil {
		st := bus.Stats()
		h.AMQP = &AMQPHealth{Connected: connected, Handled: st.Handled, Failed: st.HandlerErrors, Retried: st.Retried,
			AckWaitExpired: rt.expired.Load()}
	}
	return h
}

func (rt *Runtime) toggles(w http.ResponseWriter, _ *http.Request) {
	t := rt.set.Toggles
	common.WriteJSON(w, http.StatusOK, TogglesBody{Faithful: append([]common.Toggle{}, t.FaithfulList()...), VersionRule: t.Version})
}
