package workload_test

import (
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
)

// Ticketflow's workload block is decoded by Ticketflow, and its errors
// still carry the scenario file's line.
func TestWorkloadBlockErrorsCarryFileAndLine(t *testing.T) {
	src := `name: x
description: d
workload:
  inquiries: 0
  rate: 2
  bogus: 1
  languages: {en: 1, EN: 2}
  settle: 3s
method:
  - {type: outage, link: sla, duration: 1s}
evidence: ["faults.applied > 0"]
`
	vocs := spec.Vocabularies{ticketflow.System().Vocabulary}
	_, err := spec.Parse("x.yaml", []byte(src), vocs)
	if err == nil {
		t.Fatal("a bad workload block was accepted")
	}
	for _, want := range []string{
		`x.yaml:6: unknown field "bogus" in workload`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	fixed := strings.Replace(src, "  bogus: 1\n", "", 1)
	_, err = spec.Parse("x.yaml", []byte(fixed), vocs)
	for _, want := range []string{
		"x.yaml:4: workload.inquiries: want 1 to 1000000 inquiries, got 0",
		`x.yaml:6: workload.languages.EN: want an ISO 639 language code`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	good := strings.Replace(strings.Replace(fixed, "inquiries: 0", "inquiries: 4", 1), ", EN: 2", "", 1)
	s, err := spec.Parse("x.yaml", []byte(good), vocs)
	if err != nil {
		t.Fatal(err)
	}
	w, ok := s.Workload.Config.(*workload.Spec)
	if !ok || w.Inquiries != 4 || w.Rate != 2 || s.Workload.Settle.D().Seconds() != 3 {
		t.Fatalf("decoded %#v, settle %s", s.Workload.Config, s.Workload.Settle)
	}
}
