//go:build integration

package broker_test

import (
	"context"
	"encoding/json"
	"errors"
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

// TestPrivateClusterOfTwo boots the package's only broker, mirrored queues
// and pause_minority; the external provider is tested against it too, to
// spend no second boot.
func TestPrivateClusterOfTwo(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	name := fmt.Sprintf("tflabbr%d", os.Getpid())
	br, err := broker.Private{NodeName: name, Nodes: 2, QueueType: broker.QueueMirrored,
		PartitionHandling: "pause_minority", Log: labtest.Logger(t)}.Start(ctx, t.TempDir())
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
	t.Run("external run gets a vhost of its own or refuses a used one", func(t *testing.T) {
		testExternalRun(t, nodes[0], br.(*broker.PrivateBroker).RabbitNodes()[0].Ctl)
	})
	out, err := br.(*broker.PrivateBroker).RabbitNodes()[0].Ctl(ctx, "cluster_status")
	if err != nil || !strings.Contains(out, nodes[1].Name) {
		t.Fatalf("node 2 is not in node 1's cluster: %v\n%s", err, out)
	}
	for i, n := range br.(*broker.PrivateBroker).RabbitNodes() {
		out, err := n.Ctl(ctx, "eval", "application:get_env(rabbit, cluster_partition_handling).")
		if err != nil || !strings.Contains(out, "pause_minority") {
			t.Errorf("node %d partition handling: %v %q; want pause_minority", i+1, err, out)
		}
	}
	out, err = br.(*broker.PrivateBroker).RabbitNodes()[1].Ctl(ctx, "list_policies", "-p", "/")
	if err != nil || !strings.Contains(out, broker.MirrorPolicyName) || !strings.Contains(out, `"ha-mode":"all"`) {
		t.Errorf("mirroring policy: %v\n%s", err, out)
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

// testExternalRun borrows node 1 by URL as a user's broker would be: with a
// management URL a run gets a fresh vhost that Stop deletes; without one, or
// with credentials that may not create vhosts, a vhost holding the system's
// queues is refused unless Reuse is set.
func testExternalRun(t *testing.T, base broker.Node, ctl func(context.Context, ...string) (string, error)) {
	ctx := t.Context()
	const sysQueue = "extrun-system-queue"
	queueExists := func(url string) (bool, error) {
		conn, err := amqp.Dial(url)
		if err != nil {
			return false, err
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return false, err
		}
		_, err = ch.QueueDeclarePassive(sysQueue, true, false, false, false, nil)
		return err == nil, nil
	}
	declare := func(url string) {
		t.Helper()
		_, ch := labtest.Channel(t, url)
		if _, err := ch.QueueDeclare(sysQueue, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}

	// The user's vhost, made for the test so nothing lands in "/".
	shared, err := broker.VHost{Base: base, VHost: "extrun-users"}.Start(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Stop(context.Background())
	usersURL := shared.Nodes()[0].AMQPURL

	run, err := broker.ExternalRun{External: broker.External{AMQPURL: usersURL, ManagementURL: base.ManagementURL},
		VHost: "extrun-fresh", Queues: []string{sysQueue}}.Start(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	runURL := run.Nodes()[0].AMQPURL
	if !strings.HasSuffix(runURL, "/extrun-fresh") {
		t.Fatalf("run URL %s: want the fresh vhost", runURL)
	}
	declare(runURL)
	if held, err := queueExists(usersURL); err != nil || held {
		t.Fatalf("the run's queue leaked into the user's vhost (held %v, %v)", held, err)
	}
	if err := run.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := queueExists(runURL); err == nil {
		t.Fatal("the run's vhost is still there after Stop")
	}

	noMgmt := broker.ExternalRun{External: broker.External{AMQPURL: usersURL}, VHost: "extrun-unused", Queues: []string{sysQueue}}
	b, err := noMgmt.Start(ctx, "")
	if err != nil {
		t.Fatalf("an empty vhost was refused: %v", err)
	}
	if b.Nodes()[0].AMQPURL != usersURL {
		t.Fatalf("without a management URL the run must use the URL's vhost, got %s", b.Nodes()[0].AMQPURL)
	}
	declare(usersURL) // as a first run (or the user's own app) would
	_, err = noMgmt.Start(ctx, "")
	if !errors.Is(err, broker.ErrVHostInUse) || !strings.Contains(err.Error(), sysQueue) || !strings.Contains(err.Error(), "--reuse-vhost") || !strings.Contains(err.Error(), "--management-url") {
		t.Fatalf("a vhost holding the system's queue: want ErrVHostInUse naming the queue and both fixes, got %v", err)
	}
	noMgmt.Reuse = true
	if _, err := noMgmt.Start(ctx, ""); err != nil {
		t.Fatalf("--reuse-vhost refused: %v", err)
	}

	// Credentials that may not create vhosts: fall back to the check.
	if _, err := ctl(ctx, "add_user", "extrun-limited", "pw"); err != nil {
		t.Fatal(err)
	}
	defer ctl(context.Background(), "delete_user", "extrun-limited")
	if _, err := ctl(ctx, "set_permissions", "-p", "extrun-users", "extrun-limited", ".*", ".*", ".*"); err != nil {
		t.Fatal(err)
	}
	limited, err := amqp.ParseURI(usersURL)
	if err != nil {
		t.Fatal(err)
	}
	limited.Username, limited.Password = "extrun-limited", "pw"
	limitedURL := limited.String()
	_, err = broker.ExternalRun{External: broker.External{AMQPURL: limitedURL, ManagementURL: base.ManagementURL},
		VHost: "extrun-denied", Queues: []string{sysQueue}}.Start(ctx, "")
	if !errors.Is(err, broker.ErrVHostInUse) || !strings.Contains(err.Error(), "could not create vhost extrun-denied") {
		t.Fatalf("limited credentials: want the refusal saying the vhost could not be created, got %v", err)
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
