package invariants_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/invariants"
)

// scenarioFile is what this test reads of a ticketsale scenario file.
type scenarioFile struct {
	Name       string   `yaml:"name"`
	System     string   `yaml:"system"`
	Profile    string   `yaml:"profile"`
	Invariants []string `yaml:"invariants"`
	Expect     any      `yaml:"expect"`
	Control    *struct {
		Profile string `yaml:"profile"`
		Method  []any  `yaml:"method"`
		Expect  struct {
			Violated []string `yaml:"violated"`
		} `yaml:"expect"`
	} `yaml:"control"`
}

// Every ticketsale scenario names known invariants and a negative control
// that switches one faithful toggle of the system (or moves its fault)
// and expects an invariant the scenario checks to break.
func TestTicketsaleScenariosHaveControls(t *testing.T) {
	all, err := filepath.Glob("../../../../scenarios/catalog/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The catalog holds every system's scenarios: ticketsale's say so.
	var files []string
	for _, f := range all {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s scenarioFile
		if err := yaml.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if s.System == ticketsale.Name {
			files = append(files, f)
		}
	}
	if len(files) < 10 {
		t.Fatalf("%d ticketsale scenarios, want at least 10", len(files))
	}
	v := ticketsale.Variants()
	vocs := spec.Vocabularies{ticketsale.System().Vocabulary}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The lab's parser and planner accept it, the control included.
		sc, err := spec.Parse(filepath.Base(f), raw, vocs)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, control := range []bool{false, true} {
			if _, err := sc.Plan(spec.PlanOptions{Control: control}); err != nil {
				t.Errorf("%s: plan (control %v): %v", f, control, err)
			}
		}
		var s scenarioFile
		if err := yaml.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if s.Name+".yaml" != filepath.Base(f) || s.System != ticketsale.Name {
			t.Errorf("%s: name %q, system %q", f, s.Name, s.System)
		}
		for _, id := range s.Invariants {
			if _, ok := invariants.Lookup(id); !ok {
				t.Errorf("%s: unknown invariant %s", f, id)
			}
		}
		if _, err := v.Resolve(s.Profile); err != nil {
			t.Errorf("%s: profile: %v", f, err)
		}
		c := s.Control
		if c == nil || len(c.Expect.Violated) == 0 {
			t.Errorf("%s: no negative control naming an invariant", f)
			continue
		}
		for _, id := range c.Expect.Violated {
			if _, ok := invariants.Lookup(id); !ok || len(s.Invariants) > 0 && !slices.Contains(s.Invariants, id) {
				t.Errorf("%s: control expects %s, which the scenario does not check", f, id)
			}
		}
		if c.Profile == "" {
			if len(c.Method) == 0 {
				t.Errorf("%s: the control changes neither the profile nor the method", f)
			}
			continue
		}
		r, err := v.Resolve(c.Profile)
		if err != nil {
			t.Errorf("%s: control profile: %v", f, err)
			continue
		}
		base, _ := v.Resolve(s.Profile)
		if len(r.Settings) <= len(base.Settings) || !strings.HasPrefix(c.Profile, s.Profile) {
			t.Errorf("%s: control profile %q switches no toggle on top of %q", f, c.Profile, s.Profile)
		}
	}
}
