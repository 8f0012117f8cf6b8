package main

import (
	"fmt"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
)

// systems is the registry of systems under test: one line per system. up,
// serve, status, run and suite need nothing else. A binary built with the
// "labtest" tag also knows the lab's test systems (labtestSystems).
var systems = mustRegistry(append([]sut.System{
	ticketflow.System(),
	ticketsale.System(),
}, labtestSystems()...)...)

// mustRegistry builds the registry; a bad system table is a programming
// error, caught by the command's tests.
func mustRegistry(ss ...sut.System) *sut.Registry {
	r, err := sut.NewRegistry(ss...)
	if err != nil {
		panic(fmt.Sprintf("tflab: %v", err))
	}
	return r
}

// systemNames lists the known systems for help texts and errors.
func systemNames() string { return strings.Join(systems.Names(), ", ") }

// lookupSystem returns the system called name or a usage error listing
// the known ones; what names the input (e.g. "--system") prefixes it.
func lookupSystem(what, name string) (sut.System, error) {
	s, err := systems.Lookup(name)
	if err != nil {
		return sut.System{}, usageErrorf("%s: %v", what, err)
	}
	return s, nil
}
