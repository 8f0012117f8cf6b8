package placeholder

import (
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// System is the placeholder as a system under test: one service that only
// holds an AMQP connection, for the lab's own tests.
func System() sut.System {
	return sut.System{
		Name:       "placeholder",
		Note:       "this lab runs the placeholder service only (it just holds an AMQP connection)",
		Services:   []sut.Service{{Name: "placeholder", Instances: 1, Main: Main}},
		Vocabulary: spec.Vocabulary{System: "placeholder", Services: []string{"placeholder"}},
	}
}
