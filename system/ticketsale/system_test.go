package ticketsale_test

import (
	"slices"
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketsale"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
)

func TestVariantsValidateAndEachToggleSwitchesOne(t *testing.T) {
	v := ticketsale.Variants()
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tog := range v.Toggles {
		r, err := v.Resolve(tog.Name)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := common.ParseToggles(r.Settings, r.Unprotect)
		if err != nil {
			t.Fatalf("%s: %v", tog.Name, err)
		}
		want := 1
		if tog.Name == ticketsale.ToggleShortWindows {
			want = 0 // timing only
		}
		if n := len(tg.FaithfulList()); n != want {
			t.Errorf("%s switches %d toggles (%s), want %d", tog.Name, n, tg, want)
		}
	}
	course, err := v.Resolve(ticketsale.ProfileCourse)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := common.ParseToggles(course.Settings, course.Unprotect)
	if len(tg.FaithfulList()) != len(common.AllToggles) || tg.Version != common.VersionStrict {
		t.Errorf("course profile: %s", tg)
	}
	fixed, _ := v.Resolve("")
	if tg, _ := common.ParseToggles(fixed.Settings, fixed.Unprotect); tg.String() != "fixed" {
		t.Errorf("default profile: %s", tg)
	}
}

func TestServicesAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range ticketsale.Services {
		if s.Main == nil || s.HTTPPort == 0 || seen[s.Name] {
			t.Errorf("service %+v", s)
		}
		seen[s.Name] = true
		if s.Messaging != (len(s.Listens) > 0) {
			t.Errorf("%s: messaging %v but listens to %v", s.Name, s.Messaging, s.Listens)
		}
	}
	for _, n := range []string{"auth", "tickets", "orders", "expiration", "payments", "gateway"} {
		if !seen[n] {
			t.Errorf("service %s missing", n)
		}
	}
}

func TestSystemIsAValidPluginThatWiresPaymentsToTheGateway(t *testing.T) {
	s := ticketsale.System()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	pay, err := s.Service(common.ServicePayments)
	if err != nil {
		t.Fatal(err)
	}
	if got := pay.Needs[payments.SettingGatewayURL]; got != common.ServiceGateway {
		t.Errorf("payments needs %q for %s, want the gateway", got, payments.SettingGatewayURL)
	}
	if !slices.Equal(s.Vocabulary.MessageTypes, common.Subjects) {
		t.Errorf("message types %v, want the subjects %v", s.Vocabulary.MessageTypes, common.Subjects)
	}
	if len(s.Vocabulary.InAppServices) != 0 {
		t.Errorf("in-app services %v", s.Vocabulary.InAppServices)
	}
	if s.Workload == nil || s.Probe == nil || s.Snapshot == nil || s.Counts == nil || s.Vocabulary.Workload == nil {
		t.Errorf("the lab side is not wired: workload %v, probe %v, snapshot %v, counts %v, block %v",
			s.Workload != nil, s.Probe != nil, s.Snapshot != nil, s.Counts != nil, s.Vocabulary.Workload != nil)
	}
}
