package sut

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/service"
)

// ErrUnknownSystem reports a system name no registered system has.
var ErrUnknownSystem = errors.New("unknown system")

// System is one system under test.
type System struct {
	// Name is the system's name in scenario files and on the command line,
	// e.g. "ticketflow".
	Name string
	// Note is shown by up and status, e.g. that the system is incomplete.
	Note string
	// Services are the services `tflab up` starts, in this order.
	Services []Service
	// Variants are the system's toggles and profiles (--profile, a
	// scenario's profile:); empty: only the default, nothing switched.
	Variants service.Variants
	// Queues names the queues the system declares, so a run on a shared
	// broker can refuse to touch them (nil: none known).
	Queues []string
	// Vocabulary is what the system's scenario files may name; validation
	// and the scenario JSON Schema are generated from it. Its System and
	// Services name the system and its services (in any order).
	Vocabulary spec.Vocabulary
	// Snapshot reads the services' databases at the end of a run into the
	// system's own snapshot, kept in the history as JSON (nil: the system
	// keeps nothing the checkers read).
	Snapshot Snapshotter
	// Workload drives the system with a scenario's decoded workload block
	// (nil: the system has no workload; runs then only see probes and
	// faults).
	Workload Workload
	// Probe is the system's end-to-end steady-state probe (nil: a scenario
	// naming the end-to-end probe fails it).
	Probe Probe
	// Counts sizes a run in the system's words for the journal and the
	// report (nil: only the lab's generic counts).
	Counts Counter
	// InspectionQueues are queues whose messages stay by design (e.g. a
	// faults queue kept for people to read): never pending, never held.
	InspectionQueues []string
}

// Service is one service of a system.
type Service struct {
	Name string
	// Instances is how many `tflab up` starts by default (0 means 1).
	Instances int
	// Port is the HTTP port of the first instance under fixed ports
	// (instance n gets Port+n-1); 0 takes the lab's generic plan.
	Port int
	// Main runs one instance (`tflab serve <system>/<service>`).
	Main service.Main
	// Needs maps a setting to the service of the system whose HTTP base
	// URL `tflab up` gives this one under it, e.g. "gateway-url" →
	// "gateway" (nil: none).
	Needs map[string]string
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Validate reports a malformed or duplicate name, a service without Main
// and invalid variants.
func (s System) Validate() error {
	var errs []error
	if !namePattern.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("system %q: want a lowercase name", s.Name))
	}
	if len(s.Services) == 0 {
		errs = append(errs, fmt.Errorf("system %s: no services", s.Name))
	}
	seen := map[string]bool{}
	for _, svc := range s.Services {
		if !namePattern.MatchString(svc.Name) || seen[svc.Name] {
			errs = append(errs, fmt.Errorf("system %s: service %q: want a unique lowercase name", s.Name, svc.Name))
		}
		seen[svc.Name] = true
		if svc.Main == nil {
			errs = append(errs, fmt.Errorf("system %s: service %s has no Main", s.Name, svc.Name))
		}
		if svc.Instances < 0 || svc.Port < 0 {
			errs = append(errs, fmt.Errorf("system %s: service %s: negative instances or port", s.Name, svc.Name))
		}
	}
	for _, svc := range s.Services {
		for _, setting := range slices.Sorted(maps.Keys(svc.Needs)) {
			if need := svc.Needs[setting]; setting == "" || !seen[need] {
				errs = append(errs, fmt.Errorf("system %s: service %s: setting %q needs %q, not a service of the system", s.Name, svc.Name, setting, need))
			}
		}
	}
	if err := s.Variants.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("system %s: %w", s.Name, err))
	}
	if err := s.Vocabulary.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("system %s: %w", s.Name, err))
	}
	if s.Vocabulary.System != s.Name || !sameSet(s.Vocabulary.Services, s.ServiceNames()) {
		errs = append(errs, fmt.Errorf("system %s: the vocabulary must name the system and its services", s.Name))
	}
	return errors.Join(errs...)
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// ServiceNames lists the services' names in start order.
func (s System) ServiceNames() []string {
	out := make([]string, len(s.Services))
	for i, svc := range s.Services {
		out[i] = svc.Name
	}
	return out
}

// Service returns the service called name, or an error listing the known
// ones.
func (s System) Service(name string) (Service, error) {
	i := slices.IndexFunc(s.Services, func(svc Service) bool { return svc.Name == name })
	if i < 0 {
		return Service{}, fmt.Errorf("system %s has no service %q (known: %s)", s.Name, name, strings.Join(s.ServiceNames(), ", "))
	}
	return s.Services[i], nil
}

// Registry is the set of systems a binary knows, in registration order.
type Registry struct {
	systems []System
}

// NewRegistry validates each system and refuses duplicate names.
func NewRegistry(systems ...System) (*Registry, error) {
	r := &Registry{}
	var errs []error
	for _, s := range systems {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := r.Lookup(s.Name); err == nil {
			errs = append(errs, fmt.Errorf("system %s registered twice", s.Name))
			continue
		}
		r.systems = append(r.systems, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("system registry: %w", err)
	}
	return r, nil
}

// Lookup returns the system called name, or an error wrapping
// ErrUnknownSystem that lists the known systems.
func (r *Registry) Lookup(name string) (System, error) {
	for _, s := range r.systems {
		if s.Name == name {
			return s, nil
		}
	}
	return System{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownSystem, name, strings.Join(r.Names(), ", "))
}

// Names lists the systems' names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, len(r.systems))
	for i, s := range r.systems {
		out[i] = s.Name
	}
	slices.Sort(out)
	return out
}

// Vocabularies returns every system's vocabulary, for scenario parsing.
func (r *Registry) Vocabularies() spec.Vocabularies {
	out := make(spec.Vocabularies, len(r.systems))
	for i, s := range r.systems {
		out[i] = s.Vocabulary
	}
	return out
}

// All returns the systems in registration order.
func (r *Registry) All() []System { return slices.Clone(r.systems) }
