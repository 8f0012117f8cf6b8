package anomalies

import (
	"context"
	"testing"
)

// cannedNode answers rabbitmqctl with fixed output (a pure unit test of the
// decoding; the live listing is tested in broker_integration_test.go).
type cannedNode struct{ out string }

func (cannedNode) Name() string { return "canned@localhost" }
func (n cannedNode) Ctl(context.Context, ...string) (string, error) {
	return n.out, nil
}

// A connection still starting lists its client properties as the string
// "none"; that must not spoil the whole listing.
func TestNodeConnectionsDecodesStartingConnections(t *testing.T) {
	out := `[
{"name":"a","vhost":"run1","state":"running","connected_at":1795324474509,"client_properties":[["connection_name","longstr","sla-sla-consumer"],["capabilities","table",[["basic.nack","bool",true]]]]}
,{"name":"b","vhost":"none","state":"starting","connected_at":1795324488037,"client_properties":"none"}
]`
	conns, err := NodeConnections(t.Context(), cannedNode{out})
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 2 {
		t.Fatalf("got %d connections, want 2: %+v", len(conns), conns)
	}
	if conns[0].ClientName() != "sla-sla-consumer" || conns[0].VHost != "run1" || conns[0].ConnectedAt().UnixMilli() != 1795324474509 {
		t.Fatalf("first connection decoded as %+v", conns[0])
	}
	if conns[1].State != "starting" || conns[1].ClientName() != "" {
		t.Fatalf("starting connection decoded as %+v", conns[1])
	}
	if _, err := NodeConnections(t.Context(), cannedNode{"not json"}); err == nil {
		t.Fatal("garbage decoded without error")
	}
}
