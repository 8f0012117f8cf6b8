//go:build integration

package lab_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/labtest/placeholder"
)

// On a two-node private cluster the lab places instance i on node i mod 2,
// gives each instance a proxy to the other node as its fallback address,
// and passes every address and the queue type on the service's command line.
func TestClusterPlacementAndFallbacks(t *testing.T) {
	if os.Getenv("LAB_AMQP_URL") != "" {
		t.Skip("LAB_AMQP_URL points at an external broker; this test starts its own two-node cluster")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	serve, serveEnv := placeholder.Command()
	l, err := lab.Start(ctx, lab.Config{
		System:            "ticketflow",
		Services:          []lab.ServiceSpec{{Name: "placeholder", Instances: 2}},
		Broker:            broker.Private{NodeName: fmt.Sprintf("tflablab%d", os.Getpid()), Nodes: 2, Disposable: true, Log: labtest.Logger(t)},
		QueueType:         broker.QueueQuorum,
		PartitionHandling: "autoheal",
		Ports:             lab.PortsRandom,
		RunDir:            filepath.Join(t.TempDir(), "run"),
		Command:           serve,
		Env:               serveEnv,
		Log:               labtest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop(context.Background())
	if err := l.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	st := l.Status(ctx)
	if st.Broker.QueueType != broker.QueueQuorum || st.Broker.PartitionHandling != "autoheal" || len(st.Broker.Nodes) != 2 {
		t.Fatalf("broker %+v", st.Broker)
	}
	nodes := st.Broker.Nodes
	for id, want := range map[string]struct{ own, other int }{"placeholder": {0, 1}, "placeholder-2": {1, 0}} {
		s := st.Services[id]
		if s.Node != nodes[want.own].Name {
			t.Errorf("%s placed on %q, want %q", id, s.Node, nodes[want.own].Name)
		}
		if len(s.Fallbacks) != 1 || s.Fallbacks[0].Node != nodes[want.other].Name || s.Fallbacks[0].Proxy != fmt.Sprintf("%s-amqp-%d", id, want.other+1) {
			t.Fatalf("%s fallbacks %+v; want one proxy to %s", id, s.Fallbacks, nodes[want.other].Name)
		}
		fb := s.Fallbacks[0]
		if addr, err := l.Toxiproxy().ProxyAddr(fb.Proxy); err != nil || addr != fb.AMQPProxy {
			t.Errorf("fallback proxy %s at %q (%v), status says %q", fb.Proxy, addr, err, fb.AMQPProxy)
		}
		viaFallback, err := broker.WithHost(nodes[want.other].AMQP, fb.AMQPProxy)
		if err != nil {
			t.Fatal(err)
		}
		if err := broker.Ping(ctx, viaFallback, 5*time.Second); err != nil {
			t.Errorf("%s: the fallback proxy does not reach node %s: %v", id, fb.Node, err)
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.PID))
		if err != nil {
			t.Fatal(err)
		}
		args := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		for _, want := range []string{"--amqp-fallback=amqp://guest:guest@" + fb.AMQPProxy + "/", "--queue-type=quorum"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s started without %s: %s", id, want, args)
			}
		}
	}
}
