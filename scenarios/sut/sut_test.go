package sut_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/service"
)

func noop(context.Context, service.Config, *slog.Logger) error { return nil }

func sys(name string, services ...string) sut.System {
	s := sut.System{Name: name}
	for _, n := range services {
		s.Services = append(s.Services, sut.Service{Name: n, Main: noop})
	}
	s.Vocabulary = spec.Vocabulary{System: name, Services: services}
	return s
}

func TestRegistryLookup(t *testing.T) {
	r, err := sut.NewRegistry(sys("zeta", "a"), sys("alpha", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "alpha,zeta" {
		t.Errorf("names %s, want alpha,zeta", got)
	}
	if all := r.All(); len(all) != 2 || all[0].Name != "zeta" {
		t.Errorf("All keeps registration order: %+v", all)
	}
	s, err := r.Lookup("alpha")
	if err != nil || s.Name != "alpha" {
		t.Fatalf("lookup alpha: %v %v", s.Name, err)
	}
	if svc, err := s.Service("c"); err != nil || svc.Name != "c" {
		t.Errorf("service c: %v", err)
	}
	if _, err := s.Service("x"); err == nil || !strings.Contains(err.Error(), "known: b, c") {
		t.Errorf("unknown service: %v", err)
	}
	_, err = r.Lookup("nope")
	if !errors.Is(err, sut.ErrUnknownSystem) || !strings.Contains(err.Error(), "known: alpha, zeta") {
		t.Errorf("unknown system: %v", err)
	}
}

func TestRegistryRefusesBadSystems(t *testing.T) {
	noMain := sys("b", "x")
	noMain.Services[0].Main = nil
	needsStranger := sys("a", "x", "y")
	needsStranger.Services[0].Needs = map[string]string{"z-url": "z"}
	needsFriend := sys("b", "x", "y")
	needsFriend.Services[0].Needs = map[string]string{"y-url": "y"}
	if _, err := sut.NewRegistry(needsFriend); err != nil {
		t.Errorf("a need of a service of the system: %v", err)
	}
	for name, ss := range map[string][]sut.System{
		"duplicate":                    {sys("a", "x"), sys("a", "y")},
		"bad name":                     {sys("A b", "x")},
		"no services":                  {sys("a")},
		"duplicate service":            {sys("a", "x", "x")},
		"no main":                      {noMain},
		"needs an unknown service":     {needsStranger},
		"vocabulary of another system": {func() sut.System { s := sys("a", "x"); s.Vocabulary.System = "b"; return s }()},
		"bad variants":                 {{Name: "a", Services: sys("a", "x").Services, Vocabulary: sys("a", "x").Vocabulary, Variants: service.Variants{Toggles: []service.Toggle{{Name: "t", Unprotect: []string{"nope"}}}}}},
	} {
		if _, err := sut.NewRegistry(ss...); err == nil {
			t.Errorf("%s: registry accepted %+v", name, ss)
		}
	}
}
