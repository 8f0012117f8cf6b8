//go:build labtest

package main

import (
	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// labtestSystems are the lab's test systems: the placeholder, which the
// integration tests of up, status and the runner start through a binary
// built with -tags labtest.
func labtestSystems() []sut.System { return []sut.System{placeholder.System()} }
