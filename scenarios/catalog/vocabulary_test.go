package catalog

import (
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
)

// ticketflowVocs are the vocabularies of the committed schema's system.
var ticketflowVocs = spec.Vocabularies{ticketflow.System().Vocabulary}

// allVocs are the vocabularies the catalog's scenarios are written in:
// every system that has scenarios in it.
var allVocs = spec.Vocabularies{ticketflow.System().Vocabulary, ticketsale.System().Vocabulary}
