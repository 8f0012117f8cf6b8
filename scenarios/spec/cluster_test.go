package spec

import (
	"strings"
	"testing"
)

// clusterStepSrc replaces the valid scenario's first step (a network toxic)
// with a cluster step.
func clusterStepSrc(t *testing.T, step string) string {
	t.Helper()
	old := "    type: network\n    toxic: reset_peer\n    link: communication\n    direction: downstream\n    attributes: {timeout: 200}\n"
	src := strings.Replace(valid, old, step, 1)
	if src == valid {
		t.Fatal("the valid scenario's network step is not where the test expects it")
	}
	return src
}

func TestClusterStepParses(t *testing.T) {
	s, err := Parse("x.yaml", []byte(clusterStepSrc(t, "    type: cluster\n    op: split\n    minority: [3]\n")), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := s.Method[0].Action.(*ClusterAction)
	if !ok {
		t.Fatalf("step 0 is %T", s.Method[0].Action)
	}
	if a.Op != "split" || len(a.Minority) != 1 || a.Minority[0] != 3 || a.Instant() {
		t.Fatalf("parsed %+v", a)
	}
	if p := a.Params(); p["minority"] != "3" || p["op"] != "split" {
		t.Errorf("params %v", p)
	}
}

func TestClusterStepErrors(t *testing.T) {
	for step, want := range map[string]string{
		"    type: cluster\n    op: shatter\n":                   `unknown cluster op "shatter"`,
		"    type: cluster\n    op: isolate\n":                   "isolate needs a node",
		"    type: cluster\n    op: one-way\n    node: 1\n":      "one-way needs a node to",
		"    type: cluster\n    op: kill-node\n    to: 2\n":      "only one-way takes to",
		"    type: cluster\n    op: bridge\n    minority: [1]\n": "only split takes minority",
		"    type: cluster\n    op: isolate\n    nodes: 2\n":     `unknown field "nodes" in a cluster step`,
	} {
		_, err := Parse("x.yaml", []byte(clusterStepSrc(t, step)), testVocs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("step\n%s: error %v, want %q", step, err, want)
		}
	}
}

func TestClusterStepLeaderOf(t *testing.T) {
	s, err := Parse("x.yaml", []byte(clusterStepSrc(t, "    type: cluster\n    op: isolate\n    leaderOf: sla-ticket-changes\n")), testVocs)
	if err != nil {
		t.Fatal(err)
	}
	a := s.Method[0].Action.(*ClusterAction)
	if a.LeaderOf != "sla-ticket-changes" || a.Node != 0 {
		t.Fatalf("parsed %+v", a)
	}
	if p := a.Params(); p["leaderOf"] != "sla-ticket-changes" || p["node"] != "" {
		t.Errorf("params %v", p)
	}
	if d := a.Describe(); !strings.Contains(d, "leading queue sla-ticket-changes") {
		t.Errorf("describe %q", d)
	}
	for step, want := range map[string]string{
		"    type: cluster\n    op: isolate\n    node: 1\n    leaderOf: q\n": "give node or leaderOf, not both",
		"    type: cluster\n    op: split\n    leaderOf: q\n":                "split takes no leaderOf",
		"    type: cluster\n    op: kill-node\n":                             "kill-node needs a node (1, 2, …) or leaderOf",
	} {
		_, err := Parse("x.yaml", []byte(clusterStepSrc(t, step)), testVocs)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("step\n%s: error %v, want %q", step, err, want)
		}
	}
}
