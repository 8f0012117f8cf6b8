//go:build labtest

package main

import (
	"maps"

	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
)

// withLabtestSystems adds the lab's test systems to systems: the
// placeholder, one minimal service that only holds an AMQP connection,
// which the integration tests of up, status and the runner start through
// a binary built with -tags labtest.
func withLabtestSystems(systems map[string]system) map[string]system {
	maps.Copy(systems, map[string]system{
		"placeholder": {
			note: "this lab runs the placeholder service only (it just holds an AMQP connection)",
			services: []systemService{
				{name: "placeholder", instances: 1, main: placeholder.Main},
			},
		},
	})
	return systems
}
