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

func TestClusterSettingsReachThePlanAndTheControlReplacesThem(t *testing.T) {
	doc := strings.Replace(valid, "seed: 42\n", "seed: 42\nqueueType: quorum\nnodes: 3\npartitionHandling: pause_minority\n", 1)
	doc = strings.Replace(doc, "  expect: {violated: [TF2]}\n", "  expect: {violated: [TF2]}\n  queueType: mirrored\n  partitionHandling: autoheal\n", 1)
	s, err := Parse("c.yaml", []byte(doc), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Plan(PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Nodes != 3 || p.QueueType != "quorum" || p.PartitionHandling != "pause_minority" {
		t.Errorf("plan: %d nodes, %q, %q; want 3, quorum, pause_minority", p.Nodes, p.QueueType, p.PartitionHandling)
	}
	c, err := s.Plan(PlanOptions{Control: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Nodes != 3 || c.QueueType != "mirrored" || c.PartitionHandling != "autoheal" {
		t.Errorf("control plan: %d nodes, %q, %q; want 3, mirrored, autoheal", c.Nodes, c.QueueType, c.PartitionHandling)
	}
	for bad, want := range map[string]string{
		"nodes: 12\n":                  "nodes: 12 nodes",
		"partitionHandling: heal_it\n": `partitionHandling: unknown partition handling "heal_it"`,
	} {
		_, err := Parse("c.yaml", []byte(strings.Replace(valid, "seed: 42\n", "seed: 42\n"+bad, 1)), testVocs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v; want %q", bad, err, want)
		}
	}
	_, err = Parse("c.yaml", []byte(strings.Replace(valid, "  expect: {violated: [TF2]}\n", "  expect: {violated: [TF2]}\n  queueType: lazy\n", 1)), testVocs)
	if err == nil || !strings.Contains(err.Error(), `control.queueType: unknown queue type "lazy"`) {
		t.Errorf("control queue type lazy: err = %v", err)
	}
}
