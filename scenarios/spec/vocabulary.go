package spec

import (
	"errors"
	"fmt"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"slices"
	"strings"
)

// Vocabulary is the names one system under test gives a scenario file: its
// services, message types, protections and in-app fault points. Validation
// and the JSON Schema of the system's scenario files are generated from it.
type Vocabulary struct {
	// System is the system's name (a scenario's `system:`).
	System string
	// Services are the system's services, short names.
	Services []string
	// Protections are the protections a run can switch off per service.
	Protections []string
	// MessageTypes are the system's message type names.
	MessageTypes []string
	// InAppServices are the services that expose the in-app fault API.
	InAppServices []string
	// InAppFaults are the in-app fault points (an inapp step's `anomaly`).
	InAppFaults []InAppFault
	// Invariants are the system's own invariants; the lab judges every
	// run by them and the generic ones (check.Generic).
	Invariants []check.Invariant
	// Workload decodes the system's `workload:` block (nil: the system
	// has no workload and takes an empty block only).
	Workload *WorkloadType
}

// InAppFault is one in-app fault point.
type InAppFault struct {
	Name string
	// Delay faults need params.DelayInMs.
	Delay bool
	// Consumer faults may take params.StatusFilter.
	Consumer bool
}

// Validate reports an unnamed system, empty or duplicate names and in-app
// services that are not services of the system.
func (v Vocabulary) Validate() error {
	var errs []error
	if v.System == "" {
		errs = append(errs, errors.New("vocabulary: no system name"))
	}
	check := func(what string, names []string) {
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || seen[n] {
				errs = append(errs, fmt.Errorf("vocabulary %s: %s %q: empty or duplicate", v.System, what, n))
			}
			seen[n] = true
		}
	}
	check("service", v.Services)
	check("protection", v.Protections)
	check("message type", v.MessageTypes)
	check("in-app fault", v.InAppFaultNames())
	for _, s := range v.InAppServices {
		if !slices.Contains(v.Services, s) {
			errs = append(errs, fmt.Errorf("vocabulary %s: in-app service %q is not a service", v.System, s))
		}
	}
	return errors.Join(errs...)
}

// InAppFaultNames lists the in-app fault points' names.
func (v Vocabulary) InAppFaultNames() []string {
	out := make([]string, len(v.InAppFaults))
	for i, f := range v.InAppFaults {
		out[i] = f.Name
	}
	return out
}

func (v Vocabulary) inAppFault(name string) (InAppFault, bool) {
	i := slices.IndexFunc(v.InAppFaults, func(f InAppFault) bool { return f.Name == name })
	if i < 0 {
		return InAppFault{}, false
	}
	return v.InAppFaults[i], true
}

// Vocabularies are the vocabularies of every known system.
type Vocabularies []Vocabulary

// Lookup returns the vocabulary of system.
func (vs Vocabularies) Lookup(system string) (Vocabulary, bool) {
	i := slices.IndexFunc(vs, func(v Vocabulary) bool { return v.System == system })
	if i < 0 {
		return Vocabulary{}, false
	}
	return vs[i], true
}

// Systems lists the systems' names, sorted.
func (vs Vocabularies) Systems() []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.System
	}
	slices.Sort(out)
	return out
}

func (vs Vocabularies) systemsText() string { return strings.Join(vs.Systems(), ", ") }
