//go:build !labtest

package main

import "github.com/ticketflow-lab/tflab/scenarios/sut"

// labtestSystems is empty: only a binary built with the "labtest" tag
// knows the lab's test systems.
func labtestSystems() []sut.System { return nil }
