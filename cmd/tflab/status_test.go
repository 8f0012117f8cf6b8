package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
)

func TestPrintLabShowsPlacementOnACluster(t *testing.T) {
	in := lab.Info{System: "ticketflow", Running: true, Services: map[string]lab.ServiceInfo{
		"sla": {Service: "sla", Instance: 1, Proxy: "sla-amqp", Node: "n-1@localhost",
			Fallbacks: []lab.FallbackInfo{{Node: "n-2@localhost", Proxy: "sla-amqp-2", AMQPProxy: "127.0.0.1:4002"}}},
		"sla-2": {Service: "sla", Instance: 2, Proxy: "sla-2-amqp", Node: "n-2@localhost",
			Fallbacks: []lab.FallbackInfo{{Node: "n-1@localhost", Proxy: "sla-2-amqp-1", AMQPProxy: "127.0.0.1:4001"}}},
	}}
	in.Broker = lab.BrokerInfo{Provider: "private", QueueType: "quorum", PartitionHandling: "pause_minority",
		Nodes: []lab.NodeInfo{{Name: "n-1@localhost"}, {Name: "n-2@localhost"}}}
	var out bytes.Buffer
	printLab(&out, in)
	for _, want := range []string{"quorum queues, partitions: pause_minority",
		"sla placement", "n-1@localhost", "then n-2@localhost via sla-amqp-2 (127.0.0.1:4002)",
		"sla-2 placement", "then n-1@localhost via sla-2-amqp-1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	in.Broker.Nodes = in.Broker.Nodes[:1]
	out.Reset()
	printLab(&out, in)
	if strings.Contains(out.String(), "placement") {
		t.Errorf("a single node shows a placement:\n%s", out.String())
	}
}

func TestLabFlagsRejectUnknownValues(t *testing.T) {
	for flag, want := range map[string]string{
		"--queue-type=lazy":                   "--queue-type",
		"--partition-handling=pause-minority": "--partition-handling",
	} {
		_, stderr, code := runInProcess(t, nil, "up", "--amqp-url=amqp://127.0.0.1:1/", "--ports=random", flag)
		if code != ExitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want a usage error naming %s", flag, code, stderr, want)
		}
	}
}
