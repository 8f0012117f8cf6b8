package catalog

import (
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

// ticketflowVocs are the vocabularies the catalog's scenarios are written in.
var ticketflowVocs = spec.Vocabularies{ticketflow.System().Vocabulary}
