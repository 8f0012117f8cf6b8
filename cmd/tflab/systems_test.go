package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
)

// withPlaceholder registers the placeholder beside the built-in systems
// for the test: a second system, as a binary built with -tags labtest has.
func withPlaceholder(t *testing.T) {
	old := systems
	if _, err := old.Lookup("placeholder"); err == nil {
		return
	}
	systems = mustRegistry(append(old.All(), placeholder.System())...)
	t.Cleanup(func() { systems = old })
}

// The schema command prints a schema generated from the vocabularies: one
// system's names with --system, and exit 2 listing the known systems for
// an unknown one.
func TestScenariosSchemaPerSystem(t *testing.T) {
	withPlaceholder(t)
	out, stderr, code := runInProcess(t, nil, "scenarios", "schema", "--system", "placeholder")
	if code != ExitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Properties struct {
			System struct {
				Enum []string `json:"enum"`
			} `json:"system"`
		} `json:"properties"`
		Defs map[string]struct {
			Enum []string `json:"enum"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Properties.System.Enum; len(got) != 1 || got[0] != "placeholder" {
		t.Errorf("system enum %v, want [placeholder]", got)
	}
	if got := doc.Defs["service"].Enum; len(got) != 1 || got[0] != "placeholder" {
		t.Errorf("service enum %v, want [placeholder]", got)
	}
	out, _, code = runInProcess(t, nil, "scenarios", "schema")
	if code != ExitPass || !strings.Contains(out, `"ticketflow"`) || !strings.Contains(out, `"placeholder"`) {
		t.Errorf("schema of every system: exit %d", code)
	}
	_, stderr, code = runInProcess(t, nil, "scenarios", "schema", "--system", "nope")
	if code != ExitUsage || !strings.Contains(stderr, "known: placeholder, ticketflow, ticketsale") {
		t.Errorf("unknown system: exit %d, %s", code, stderr)
	}
}

// ticketsale's schema names its six services and its event subjects.
func TestScenariosSchemaOfTicketsale(t *testing.T) {
	out, stderr, code := runInProcess(t, nil, "scenarios", "schema", "--system", "ticketsale")
	if code != ExitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Defs map[string]struct {
			Enum []string `json:"enum"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	services := doc.Defs["service"].Enum
	slices.Sort(services)
	if want := []string{"auth", "expiration", "gateway", "orders", "payments", "tickets"}; !slices.Equal(services, want) {
		t.Errorf("service enum %v, want %v", services, want)
	}
	if !strings.Contains(out, `"order:created"`) {
		t.Errorf("schema names no event subject: %s", out)
	}
}

// TestEverySystemKeepsThePluginContract runs the offline part of the
// plug-in contract against every registered system: it registers, serves
// each of its services by name, has a schema generated from its
// vocabulary, and every catalog scenario names a registered system.
func TestEverySystemKeepsThePluginContract(t *testing.T) {
	withPlaceholder(t)
	for _, s := range systems.All() {
		t.Run(s.Name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, svc := range s.Services {
				if m, err := lookupService(s.Name, svc.Name); err != nil || m == nil {
					t.Errorf("serve %s/%s: %v", s.Name, svc.Name, err)
				}
			}
			if _, err := lookupService(s.Name, "no-such-service"); exitCodeOf(err) != ExitUsage {
				t.Errorf("unknown service: %v", err)
			}
			out, stderr, code := runInProcess(t, nil, "scenarios", "schema", "--system", s.Name)
			if code != ExitPass || !strings.Contains(out, `"`+s.Name+`"`) {
				t.Errorf("schema: exit %d: %s", code, stderr)
			}
		})
	}
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.Names() {
		sc, _ := c.Get(name)
		if _, err := systems.Lookup(sc.System); err != nil {
			t.Errorf("catalog scenario %s: %v", name, err)
		}
	}
}

// scenarios list names each scenario's system and filters by --system.
func TestScenariosListBySystem(t *testing.T) {
	withPlaceholder(t)
	out, stderr, code := runInProcess(t, nil, "scenarios", "list", "--system", "ticketflow")
	if code != ExitPass || !strings.Contains(out, "SYSTEM") || !strings.Contains(out, "quickstart  ") || !strings.Contains(out, " ticketflow ") {
		t.Fatalf("ticketflow: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = runInProcess(t, nil, "scenarios", "list", "--system", "placeholder")
	if code != ExitPass || strings.Contains(out, "quickstart") {
		t.Errorf("placeholder has no catalog scenarios: exit %d\n%s", code, out)
	}
	_, stderr, code = runInProcess(t, nil, "scenarios", "list", "--system", "nope")
	if code != ExitUsage || !strings.Contains(stderr, "known: placeholder, ticketflow, ticketsale") {
		t.Errorf("unknown system: exit %d, %s", code, stderr)
	}
}
