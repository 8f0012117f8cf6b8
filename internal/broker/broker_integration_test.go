//go:build integration

package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

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
	t.Run("vhost provider isolates runs on one node", func(t *testing.T) { testVHosts(t, nodes[0]) })
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

// TestContainerCluster starts three containers and checks that node 1's
// cluster lists the other two.
func TestContainerCluster(t *testing.T) {
	if err := broker.DockerAvailable(t.Context(), 5*time.Second); err != nil {
		t.Skipf("skipping the testcontainers cluster: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	br, err := broker.Container{Nodes: 3, Log: labtest.Logger(t)}.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer br.Stop(context.Background())
	nodes := br.Nodes()
	if len(nodes) != 3 {
		t.Fatalf("nodes = %+v", nodes)
	}
	for _, n := range nodes {
		if err := broker.Ping(ctx, n.AMQPURL, 10*time.Second); err != nil {
			t.Fatalf("node %s: %v", n.Name, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, nodes[0].ManagementURL+"/api/nodes", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("guest", "guest")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var listed []struct {
		Name    string `json:"name"`
		Running bool   `json:"running"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, n := range listed {
		if n.Running {
			running++
		}
	}
	if running != 3 {
		t.Fatalf("node 1's cluster runs %d nodes, want 3: %+v", running, listed)
	}
}

// testVHosts runs two labs' brokers as vhosts of one node: a queue of one is
// invisible to the other, and Stop deletes the vhost with its queues.
func testVHosts(t *testing.T, base broker.Node) {
	ctx := t.Context()
	if err := (broker.VHost{Base: base, VHost: "/"}).Validate(); err == nil {
		t.Fatal(`vhost "/" accepted: it would share the default vhost`)
	}
	a, err := broker.VHost{Base: base, VHost: "run-a"}.Start(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	b, err := broker.VHost{Base: base, VHost: "run-b"}.Start(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	urlA, urlB := a.Nodes()[0].AMQPURL, b.Nodes()[0].AMQPURL
	if !strings.HasSuffix(urlA, "/run-a") || a.Nodes()[0].ManagementURL != base.ManagementURL {
		t.Fatalf("vhost node = %+v", a.Nodes()[0])
	}
	declare := func(url string, passive bool) error {
		conn, err := amqp.Dial(url)
		if err != nil {
			return err
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		if passive {
			_, err = ch.QueueDeclarePassive("shared-name", true, false, false, false, nil)
		} else {
			_, err = ch.QueueDeclare("shared-name", true, false, false, false, nil)
		}
		return err
	}
	if err := declare(urlA, false); err != nil {
		t.Fatal(err)
	}
	if err := declare(urlA, true); err != nil {
		t.Fatalf("queue missing in its own vhost: %v", err)
	}
	if err := declare(urlB, true); err == nil {
		t.Fatal("run-b sees run-a's queue")
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := declare(urlA, true); err == nil {
		t.Fatal("run-a's vhost still usable after Stop")
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	again, err := broker.VHost{Base: base, VHost: "run-a"}.Start(ctx, "")
	if err != nil {
		t.Fatalf("vhost name reused after Stop: %v", err)
	}
	defer again.Stop(context.Background())
	if err := declare(again.Nodes()[0].AMQPURL, true); err == nil {
		t.Fatal("a re-created vhost kept the deleted one's queue")
	}
}
