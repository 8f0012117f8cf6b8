package main

import (
	"os"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

func clusterPlan(op string) *spec.Plan {
	return &spec.Plan{Scenario: "cut", Timeline: []spec.Scheduled{{Name: op, Action: &spec.ClusterAction{Op: op, Node: 1}}}}
}

func TestClusterStepsNeedACluster(t *testing.T) {
	if got := exitCodeOf(checkClusterSteps(clusterPlan("kill-node"), 1)); got != ExitUsage {
		t.Errorf("kill-node on one node: exit %d, want %d", got, ExitUsage)
	}
	if err := checkClusterSteps(clusterPlan("kill-node"), 3); err != nil {
		t.Errorf("kill-node on three nodes: %v", err)
	}
	// A cut needs root; as root it passes, otherwise it exits 3.
	err := checkClusterSteps(clusterPlan("isolate"), 3)
	switch {
	case os.Geteuid() == 0 && err != nil:
		t.Errorf("isolate as root: %v", err)
	case os.Geteuid() != 0 && exitCodeOf(err) != ExitEnvironment:
		t.Errorf("isolate without root: exit %d (%v), want %d", exitCodeOf(err), err, ExitEnvironment)
	}
}
