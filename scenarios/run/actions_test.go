package run

import (
	"reflect"
	"testing"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// Every field of a cluster step reaches the executor under the same name:
// a field the runner forgot (leaderOf once was) would leave the executor
// without its target.
func TestClusterStepFieldsReachTheExecutor(t *testing.T) {
	step := &spec.ClusterAction{Op: "one-way", Node: 2, To: 3, Minority: []int{3}, LeaderOf: "sla-ticket-changes"}
	a, err := anomalyOf(step, &anomalies.Env{})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := a.(*anomalies.Cluster)
	if !ok {
		t.Fatalf("a cluster step runs as %T", a)
	}
	sv, cv := reflect.ValueOf(step).Elem(), reflect.ValueOf(c).Elem()
	for i := range sv.NumField() {
		name := sv.Type().Field(i).Name
		f := cv.FieldByName(name)
		if !f.IsValid() {
			t.Errorf("anomalies.Cluster has no field %s", name)
			continue
		}
		if !reflect.DeepEqual(f.Interface(), sv.Field(i).Interface()) {
			t.Errorf("%s: executor has %v, step %v", name, f.Interface(), sv.Field(i).Interface())
		}
	}
}
