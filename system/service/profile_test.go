package service_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/system/service"
)

var testVariants = service.Variants{
	Toggles: []service.Toggle{
		{Name: "requeue-forever", Unprotect: []string{"retries"}},
		{Name: "no-dedup", Unprotect: []string{"dedup"}},
		{Name: "reminders-at-once", Settings: map[string]string{"sla-reminders": "at-once"}},
		{Name: "reminders-scheduled", Settings: map[string]string{"sla-reminders": "scheduled"}},
	},
	Profiles: []service.Profile{
		{Name: "fixed"},
		{Name: "course", Toggles: []string{"requeue-forever", "no-dedup", "reminders-at-once"}},
	},
}

func TestResolveProfilesAndToggles(t *testing.T) {
	if err := testVariants.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		expr      string
		unprotect []string
		settings  map[string]string
	}{
		{"", nil, map[string]string{}},
		{"fixed", nil, map[string]string{}},
		{"course", []string{"dedup", "retries"}, map[string]string{"sla-reminders": "at-once"}},
		{"fixed, reminders-at-once", nil, map[string]string{"sla-reminders": "at-once"}},
		{"no-dedup", []string{"dedup"}, map[string]string{}},
	} {
		got, err := testVariants.Resolve(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		if !reflect.DeepEqual(got.Unprotect, tc.unprotect) || !reflect.DeepEqual(got.Settings, tc.settings) {
			t.Errorf("%q: unprotect %v settings %v, want %v %v", tc.expr, got.Unprotect, got.Settings, tc.unprotect, tc.settings)
		}
	}
	if _, err := testVariants.Resolve("coarse"); err == nil || !strings.Contains(err.Error(), "known: fixed, course") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := testVariants.Resolve("course,reminders-scheduled"); err == nil || !strings.Contains(err.Error(), "differently") {
		t.Errorf("conflicting toggles: %v", err)
	}
}

func TestApplyToKeepsExplicitSettings(t *testing.T) {
	tog, err := testVariants.Resolve("course")
	if err != nil {
		t.Fatal(err)
	}
	u, s := tog.ApplyTo([]string{"dedup", "outbox"}, map[string]string{"sla-reminders": "scheduled", "heartbeat": "2s"})
	if !reflect.DeepEqual(u, []string{"dedup", "outbox", "retries"}) {
		t.Errorf("unprotect %v", u)
	}
	if !reflect.DeepEqual(s, map[string]string{"sla-reminders": "scheduled", "heartbeat": "2s"}) {
		t.Errorf("settings %v", s)
	}
}

func TestVariantsValidate(t *testing.T) {
	bad := service.Variants{
		Toggles:  []service.Toggle{{Name: "x", Unprotect: []string{"magic"}}, {Name: "x"}},
		Profiles: []service.Profile{{Name: "p", Toggles: []string{"missing"}}},
	}
	err := bad.Validate()
	for _, want := range []string{`unknown protection "magic"`, `toggle "x"`, `unknown toggle "missing"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
