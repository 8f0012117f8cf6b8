package anomalies

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

// Consumers decodes the broker's consumer details: the queue, the channel's
// connection (the broker's name, which Connections maps to the client's)
// and the prefetch; a vhost-scoped client asks for its vhost only.
func TestManagementConsumersDecodesTheBrokersListing(t *testing.T) {
	var asked string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.EscapedPath()
		_, _ = io.WriteString(w, `[{"queue":{"name":"sla-ticket-changes","vhost":"run 1"},
 "channel_details":{"name":"127.0.0.1:5 -> 127.0.0.1:6 (1)","connection_name":"127.0.0.1:5 -> 127.0.0.1:6","peer_port":5},
 "consumer_tag":"ctag-1","prefetch_count":1,"ack_required":true,"active":true,"arguments":{}}]`)
	}))
	defer srv.Close()
	got, err := (&Management{URL: srv.URL, VHost: "run 1"}).Consumers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if asked != "/api/consumers/run%201" {
		t.Errorf("asked %s", asked)
	}
	if len(got) != 1 || got[0].Queue.Name != "sla-ticket-changes" || got[0].Channel.ConnectionName != "127.0.0.1:5 -> 127.0.0.1:6" ||
		got[0].Prefetch != 1 || !got[0].AckRequired {
		t.Fatalf("decoded %+v", got)
	}
}

// The broker lists a consumer whose channel has just closed with
// channel_details as an empty array; the list must still decode.
func TestConsumerChannelDetailsMayBeAnEmptyArray(t *testing.T) {
	var cs []Consumer
	src := `[{"queue":{"name":"q","vhost":"v"},"channel_details":{"name":"c (1)","connection_name":"127.0.0.1:1 -> 127.0.0.1:2"},"consumer_tag":"a","prefetch_count":1,"ack_required":true},
	 {"queue":{"name":"q","vhost":"v"},"channel_details":[],"consumer_tag":"b","prefetch_count":0,"ack_required":true}]`
	if err := json.Unmarshal([]byte(src), &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Channel.ConnectionName != "127.0.0.1:1 -> 127.0.0.1:2" || cs[0].Prefetch != 1 || cs[1].Channel != (ChannelDetails{}) || cs[1].Tag != "b" {
		t.Errorf("decoded %+v", cs)
	}
	if err := json.Unmarshal([]byte(`[{"channel_details":[1]}]`), &cs); err == nil {
		t.Error("a non-empty array decoded as channel details")
	}
}
