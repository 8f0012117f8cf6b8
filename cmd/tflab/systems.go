package main

import (
	"fmt"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/placeholder"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

// systems is the registry of systems under test: one line per system. up,
// serve, status, run and suite need nothing else.
var systems = mustRegistry(
	ticketflow.System(),
	placeholderSystem(),
)

// placeholderSystem keeps one minimal service that only holds an AMQP
// connection; the lab's own tests run it.
func placeholderSystem() sut.System {
	return sut.System{
		Name:       "placeholder",
		Note:       "this lab runs the placeholder service only (it just holds an AMQP connection)",
		Services:   []sut.Service{{Name: "placeholder", Instances: 1, Main: placeholder.Main}},
		Vocabulary: spec.Vocabulary{System: "placeholder", Services: []string{"placeholder"}},
	}
}

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
