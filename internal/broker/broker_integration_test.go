//go:build integration

package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/labtest"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// TestPrivateClusterOfTwo boots the package's only broker; the external
// provider is tested against it too, to spend no second boot.
func TestPrivateClusterOfTwo(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	name := fmt.Sprintf("tflabbr%d", os.Getpid())
	br, err := broker.Private{NodeName: name, Nodes: 2, Log: labtest.Logger(t)}.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer br.Stop(context.Background())
	nodes := br.Nodes()
	if len(nodes) != 2 {
		t.Fatalf("nodes = %+v", nodes)
	}
	for i, n := range nodes {
		if !strings.HasPrefix(n.Name, fmt.Sprintf("%s-%d@", name, i+1)) || n.PID == 0 {
			t.Fatalf("node %d = %+v", i, n)
		}
		if err := broker.Ping(ctx, n.AMQPURL, 5*time.Second); err != nil {
			t.Fatalf("node %s: %v", n.Name, err)
		}
		resp, err := http.Get(n.ManagementURL + "/api/overview")
		if err != nil {
			t.Fatalf("management of %s: %v", n.Name, err)
		}
		resp.Body.Close()
	}
	if nodes[0].AMQPURL == nodes[1].AMQPURL {
		t.Fatal("both nodes share one AMQP URL")
	}
	t.Run("external provider borrows node 2 and never stops it", func(t *testing.T) {
		ext, err := broker.External{AMQPURL: nodes[1].AMQPURL, ManagementURL: nodes[1].ManagementURL}.Start(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		got := ext.Nodes()
		if len(got) != 1 || got[0].AMQPURL != nodes[1].AMQPURL || got[0].ManagementURL != nodes[1].ManagementURL || got[0].PID != 0 {
			t.Fatalf("external nodes = %+v", got)
		}
		if err := ext.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := broker.Ping(ctx, nodes[1].AMQPURL, 5*time.Second); err != nil {
			t.Fatalf("borrowed broker unusable after Stop: %v", err)
		}
	})
	out, err := br.(*broker.PrivateBroker).RabbitNodes()[0].Ctl(ctx, "cluster_status")
	if err != nil || !strings.Contains(out, nodes[1].Name) {
		t.Fatalf("node 2 is not in node 1's cluster: %v\n%s", err, out)
	}
	if err := br.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range br.(*broker.PrivateBroker).RabbitNodes() {
		select {
		case <-n.Exited():
		default:
			t.Fatalf("%s still running after Stop", n.Name())
		}
	}
}

func TestContainer(t *testing.T) {
	if err := broker.DockerAvailable(t.Context(), 5*time.Second); err != nil {
		t.Skipf("skipping the testcontainers provider: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	br, err := broker.Container{Log: labtest.Logger(t)}.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer br.Stop(context.Background())
	if err := broker.Ping(ctx, br.Nodes()[0].AMQPURL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
