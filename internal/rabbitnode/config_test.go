package rabbitnode_test

import (
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

func TestConfigRefusesARelativeDir(t *testing.T) {
	err := rabbitnode.Config{Name: "x", Dir: "runs/suite-broker"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("relative dir: want an error asking for an absolute one, got %v", err)
	}
	if err := (rabbitnode.Config{Name: "x", Dir: t.TempDir()}).Validate(); err != nil {
		t.Fatal(err)
	}
}
