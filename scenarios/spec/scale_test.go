package spec

import (
	"strings"
	"testing"
)

func TestScaleReachesThePlanAndIsValidated(t *testing.T) {
	s, err := Parse("s.yaml", []byte(strings.Replace(valid, "seed: 42\n", "seed: 42\nscale: {sla: 3}\n", 1)), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan(PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Scale) != 1 || p.Scale["sla"] != 3 {
		t.Errorf("plan scale %v, want sla: 3", p.Scale)
	}
	plain, err := Parse("ok.yaml", []byte(valid), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	if pp, err := plain.Plan(PlanOptions{}); err != nil || pp.Scale != nil {
		t.Errorf("without scale the plan says %v (%v); want the system's defaults", pp.Scale, err)
	}
	_, err = Parse("s.yaml", []byte(strings.Replace(valid, "seed: 42\n", "seed: 42\nscale: {shop: 2, sla: 10}\n", 1)), testVocs)
	for _, want := range []string{"s.yaml:6: scale.shop: unknown service", "s.yaml:6: scale.sla: want 1 to 9 instances, got 10"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v; want %q", err, want)
		}
	}
}
