package messaging

import (
	"strings"
	"testing"
)

func TestTopologyValidateCatchesMistakes(t *testing.T) {
	bad := Topology{
		Exchanges: []Exchange{{Name: "x", Kind: "fan-out"}, {Name: "x", Kind: Topic}},
		Queues:    []Queue{{Name: "q", Type: Quorum, Exclusive: true}},
		Bindings:  []Binding{{Source: "nope", Destination: "q"}, {Source: "x", Destination: "missing"}},
	}
	err := bad.Validate()
	for _, want := range []string{`unknown kind "fan-out"`, "declared twice", "quorum queues must be durable", "source exchange not declared", "destination queue not declared"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to mention %q", err, want)
		}
	}
}
