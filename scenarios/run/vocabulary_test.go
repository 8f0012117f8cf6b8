package run

import (
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
)

// ticketflowVocs are the vocabularies the catalog's scenarios are written in.
var ticketflowVocs = spec.Vocabularies{ticketflow.System().Vocabulary}

// testSystems let Verify find Ticketflow's invariants.
var testSystems = func() *sut.Registry {
	r, err := sut.NewRegistry(ticketflow.System())
	if err != nil {
		panic(err)
	}
	return r
}()

// allVocs are the vocabularies of every system with catalog scenarios.
var allVocs = spec.Vocabularies{ticketflow.System().Vocabulary, ticketsale.System().Vocabulary}
