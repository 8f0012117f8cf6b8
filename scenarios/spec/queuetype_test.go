package spec

import (
	"strings"
	"testing"
)

func TestQueueTypeReachesThePlanAndIsValidated(t *testing.T) {
	s, err := Parse("q.yaml", []byte(strings.Replace(valid, "seed: 42\n", "seed: 42\nqueueType: quorum\n", 1)), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan(PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.QueueType != "quorum" {
		t.Errorf("plan queue type %q, want quorum", p.QueueType)
	}
	plain, err := Parse("ok.yaml", []byte(valid), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	if pp, err := plain.Plan(PlanOptions{}); err != nil || pp.QueueType != "" {
		t.Errorf("without queueType the plan says %q (%v); want the lab's own", pp.QueueType, err)
	}
	_, err = Parse("q.yaml", []byte(strings.Replace(valid, "seed: 42\n", "seed: 42\nqueueType: lazy\n", 1)), testVocs)
	if err == nil || !strings.Contains(err.Error(), `queueType: unknown queue type "lazy"`) {
		t.Errorf("err = %v; want the unknown queue type named", err)
	}
}
