package ticketflow_test

import (
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

func TestSystemRegisters(t *testing.T) {
	s := ticketflow.System()
	if _, err := sut.NewRegistry(s); err != nil {
		t.Fatal(err)
	}
	want := []string{"translations", "tickets", "inquiries", "communication", "sla", "metrics"}
	if got := s.ServiceNames(); len(got) != len(want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	for i, n := range want {
		if s.Services[i].Name != n {
			t.Errorf("service %d is %s, want %s (start order)", i, s.Services[i].Name, n)
		}
	}
	if len(s.Queues) == 0 {
		t.Error("no queues")
	}
}
