//go:build integration

package rabbitnode_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

func TestLocateMissingInstallSaysWhatToInstall(t *testing.T) {
	_, err := rabbitnode.Locate(t.TempDir())
	if !errors.Is(err, rabbitnode.ErrNotInstalled) {
		t.Fatalf("want ErrNotInstalled, got %v", err)
	}
	if !strings.Contains(err.Error(), "apt-get install -y rabbitmq-server") {
		t.Fatalf("error does not say what to install: %v", err)
	}
}

func TestClusterOfTwoPublishesAndConsumesOnBothNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c, err := rabbitnode.StartCluster(ctx, rabbitnode.Config{Name: "tflabc" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", ""), Dir: t.TempDir()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()

	out, err := c.Nodes[0].Ctl(ctx, "cluster_status")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if !strings.Contains(out, n.Name()) {
			t.Fatalf("cluster_status does not list %s:\n%s", n.Name(), out)
		}
	}
	// Each node's distribution listens on the node's own address, and no
	// listener of the cluster (nodes, their epmd) binds every address.
	ls, err := labtest.Listeners(c.Nodes[0].PID(), c.Nodes[1].PID(), c.EpmdPID())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if n.Addr().Equal(c.Nodes[0].Addr()) && n != c.Nodes[0] {
			t.Errorf("nodes share address %s", n.Addr())
		}
		found := false
		for _, l := range ls {
			found = found || (l.PID == n.PID() && l.Port == n.DistPort() && l.Addr.Equal(n.Addr()))
		}
		if !found {
			t.Errorf("%s: no distribution listener on %s:%d among %v", n.Name(), n.Addr(), n.DistPort(), ls)
		}
	}
	for _, l := range ls {
		if !l.Addr.IsLoopback() {
			t.Errorf("listener off loopback: %s", l)
		}
	}
	// A queue declared on node 1 is reachable through node 2.
	q := "cluster-check"
	publish(t, c.Nodes[0].AMQPURL(), q, "hello")
	if got := consumeOne(t, c.Nodes[1].AMQPURL(), q); got != "hello" {
		t.Fatalf("consumed %q via node 2, want hello", got)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		select {
		case <-n.Exited():
		default:
			t.Fatalf("node %s still running after Stop", n.Name())
		}
	}
}

func publish(t *testing.T, url, q, body string) {
	t.Helper()
	_, ch := labtest.Channel(t, url)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte(body), DeliveryMode: amqp.Persistent})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(t.Context()); err != nil || !ok {
		t.Fatalf("publish not confirmed: ok=%v err=%v", ok, err)
	}
}

func consumeOne(t *testing.T, url, q string) string {
	t.Helper()
	_, ch := labtest.Channel(t, url)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return string(d.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message on %s", q)
	return ""
}

// Every listener of a private node (AMQP, management, Erlang distribution,
// and the epmd it registers with) binds loopback: the lab opens nothing on
// the machine's other addresses.
func TestNodeListensOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	n, err := rabbitnode.Start(ctx, rabbitnode.Config{Name: "tflabl" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", ""),
		Dir: t.TempDir(), Management: true, Disposable: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Stop(context.Background()) }()

	ls, err := labtest.Listeners(n.PID())
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]bool{}
	for _, l := range ls {
		ports[l.Port] = true
		if l.Wildcard() {
			t.Errorf("listener on every address: %s", l)
		}
	}
	// The check saw the node's sockets at all: each configured port listens.
	for name, p := range map[string]int{"amqp": n.AMQPPort(), "management": n.ManagementPort(), "distribution": n.DistPort()} {
		if !ports[p] {
			t.Errorf("%s port %d not among the node's listeners %v", name, p, ls)
		}
	}
	// The CLI's own Erlang VM connects to the node over the loopback-bound
	// distribution, and the node runs with the documented consumer_timeout.
	out, err := n.Ctl(ctx, "eval", "application:get_env(rabbit, consumer_timeout).")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("{ok,%d}", rabbitnode.ConsumerTimeout.Milliseconds()); strings.TrimSpace(out) != want {
		t.Errorf("consumer_timeout: rabbitmqctl eval says %q, want %s", strings.TrimSpace(out), want)
	}
	epmd, err := labtest.PortListeners(4369)
	if err != nil {
		t.Fatal(err)
	}
	if len(epmd) == 0 {
		t.Error("no epmd listener on port 4369, yet the node registered its name")
	}
	for _, l := range epmd {
		if l.Wildcard() {
			t.Errorf("epmd listens on every address: %s", l)
		}
	}
}
