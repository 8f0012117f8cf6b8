package main

import (
	"slices"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
)

// --profile course switches every protection off and every SLA quirk on for
// every service; an explicit setting stays; an unknown name is a usage error.
func TestApplyProfile(t *testing.T) {
	specs := []lab.ServiceSpec{{Name: "sla", Settings: map[string]string{sla.SettingBlocking: "pauses"}}, {Name: "tickets"}}
	if err := applyProfile(mustSystem(t, "ticketflow"), "course", specs); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if !slices.Contains(s.Unprotect, "retries") || !slices.Contains(s.Unprotect, "dedup") || s.Settings[sla.SettingReminders] != "at-once" {
			t.Errorf("%s: unprotect %v settings %v", s.Name, s.Unprotect, s.Settings)
		}
	}
	if specs[0].Settings[sla.SettingBlocking] != "pauses" || specs[1].Settings[sla.SettingBlocking] != "ignored" {
		t.Errorf("explicit setting overridden: %v / %v", specs[0].Settings, specs[1].Settings)
	}
	fixed := []lab.ServiceSpec{{Name: "sla"}}
	if err := applyProfile(mustSystem(t, "ticketflow"), "", fixed); err != nil || len(fixed[0].Unprotect) != 0 || len(fixed[0].Settings) != 0 {
		t.Errorf("default profile: %v %+v", err, fixed[0])
	}
	if err := applyProfile(mustSystem(t, "ticketflow"), "coarse", fixed); err == nil {
		t.Error("unknown profile accepted")
	}
}

// Every catalog scenario's profile, and its control's, names known
// variants, and a course control switches the plan's protections off.
func TestCatalogProfilesResolve(t *testing.T) {
	c, err := catalog.Load(systems.Vocabularies())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.Names() {
		s, _ := c.Get(name)
		for _, control := range []bool{false, true} {
			if control && s.Control == nil {
				continue
			}
			p, err := s.Plan(spec.PlanOptions{Control: control})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := applyPlanProfile(mustSystem(t, s.System), p, nil); err != nil {
				t.Errorf("%s (control %v): %v", name, control, err)
			}
		}
	}
	p := &spec.Plan{Scenario: "x", Profile: "course", Protections: map[string]map[string]bool{"retries": {"sla": true}}}
	set, err := applyPlanProfile(mustSystem(t, "ticketflow"), p, map[string]string{"heartbeat": "2s"})
	if err != nil || p.Protections["retries"]["sla"] || set[sla.SettingReminders] != "at-once" || set["heartbeat"] != "2s" {
		t.Errorf("course plan: %v %v %v", err, p.Protections, set)
	}
}

func mustSystem(t *testing.T, name string) sut.System {
	t.Helper()
	s, err := systems.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
