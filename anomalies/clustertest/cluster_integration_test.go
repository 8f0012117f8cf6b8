//go:build integration && cluster

package clustertest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/netfilter"
	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

// Every fault between nodes on a real three-node cluster (partition
// handling: RabbitMQ's default, ignore) and the lab's real nftables table:
// while the fault is active its rules are in place and a node's view shows
// the cut; after the heal no rule is left and every node sees the whole
// cluster again. The nodes' logs are kept with go test -artifacts.
func TestClusterFaultsCutAndHealARealCluster(t *testing.T) {
	if err := netfilter.Available(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 28*time.Minute)
	defer cancel()
	c, err := rabbitnode.StartCluster(ctx, rabbitnode.Config{Name: "tflabp" + strings.ReplaceAll(time.Now().Format("150405.000"), ".", ""),
		Dir: t.ArtifactDir(), Management: true, Disposable: true, Log: labtest.Logger(t)}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	table, err := netfilter.Create(netfilter.TableName(os.Getpid(), "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = table.Close()
		if ok, _ := netfilter.Exists(table.Name()); ok {
			t.Errorf("table %s left behind", table.Name())
		}
	}()
	env := &anomalies.Env{Cuts: table, Evidence: anomalies.NewEvidence(), Log: labtest.Logger(t)}
	names := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		env.ClusterNodes = append(env.ClusterNodes, n)
		names[i] = n.Name()
	}
	awaitWhole(ctx, t, env, names)

	// rabbitmqctl on one node lists the connections of every node: the
	// other nodes can reach the CLI (with the node's RABBITMQ_NODENAME in
	// its environment they could not, and the listing never ended).
	t.Run("list-connections", func(t *testing.T) {
		for _, n := range c.Nodes[1:] {
			conn, err := amqp.DialConfig(n.AMQPURL(), amqp.Config{Properties: amqp.Table{"connection_name": "probe-" + n.Name()}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		conns, err := anomalies.NodeConnections(lctx, c.Nodes[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range c.Nodes[1:] {
			if !slices.ContainsFunc(conns, func(x anomalies.Connection) bool { return x.ClientName() == "probe-"+n.Name() }) {
				t.Errorf("rabbitmqctl on %s does not list the connection to %s: %+v", c.Nodes[0].Name(), n.Name(), conns)
			}
		}
	})

	for _, tc := range []struct {
		fault *anomalies.Cluster
		// cut is a node pair (1-based) of which one must see the other down.
		cut     [2]int
		counter string
	}{
		{&anomalies.Cluster{Op: anomalies.OpIsolate, Node: 3}, [2]int{1, 3}, anomalies.CounterClusterPartitions},
		{&anomalies.Cluster{Op: anomalies.OpSplit}, [2]int{2, 3}, anomalies.CounterClusterPartitions},
		{&anomalies.Cluster{Op: anomalies.OpOneWay, Node: 1, To: 2}, [2]int{1, 2}, anomalies.CounterClusterPartitions},
		{&anomalies.Cluster{Op: anomalies.OpBridge}, [2]int{1, 3}, anomalies.CounterClusterPartitions},
		{&anomalies.Cluster{Op: anomalies.OpNodeKill, Node: 2}, [2]int{1, 2}, anomalies.CounterClusterNodesKilled},
		{&anomalies.Cluster{Op: anomalies.OpNodePause, Node: 3}, [2]int{1, 3}, anomalies.CounterClusterNodesPaused},
	} {
		f := tc.fault
		f.Env = env
		t.Run(f.Name(), func(t *testing.T) {
			before := env.Evidence.Counters()
			h, err := f.Inject(ctx)
			if err != nil {
				t.Fatal(err)
			}
			healed := false
			defer func() {
				if !healed {
					hctx, cancel := anomalies.HealContext(ctx, anomalies.ClusterHealTimeout)
					defer cancel()
					_ = h.Heal(hctx)
				}
			}()
			rules, err := table.Rules(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if f.Op != anomalies.OpNodeKill && f.Op != anomalies.OpNodePause {
				shape, _ := f.Shape(3)
				if len(rules) != len(shape.Pairs) {
					t.Fatalf("%d rules in place, want %d: %+v", len(rules), len(shape.Pairs), rules)
				}
			}
			// The cut shows in a node's view of the cluster.
			a, b := tc.cut[0], tc.cut[1]
			awaitView(ctx, t, env.ClusterNodes[a-1], func(v anomalies.NodeView) bool { return !v.Running[names[b-1]] || len(v.Partitions[names[a-1]]) > 0 },
				fmt.Sprintf("%s sees %s down", names[a-1], names[b-1]))

			hctx, cancel := anomalies.HealContext(ctx, anomalies.ClusterHealTimeout)
			defer cancel()
			healed = true
			start := time.Now()
			if err := h.Heal(hctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("healed in %s", time.Since(start).Round(100*time.Millisecond))
			if rules, err := table.Rules(""); err != nil || len(rules) != 0 {
				t.Fatalf("rules left after heal: %+v (err %v)", rules, err)
			}
			awaitWhole(ctx, t, env, names)
			if got := env.Evidence.Counters()[tc.counter] - before[tc.counter]; got < 1 {
				t.Errorf("%s rose by %v, want at least 1", tc.counter, got)
			}
		})
	}

	t.Run("restart-node", func(t *testing.T) {
		pid := c.Nodes[1].PID()
		h, err := (&anomalies.Cluster{Env: env, Op: anomalies.OpNodeRestart, Node: 2}).Inject(ctx)
		if err != nil || h != anomalies.Nothing {
			t.Fatalf("restart: %v, %v", h, err)
		}
		if c.Nodes[1].PID() == pid {
			t.Fatal("node 2 has the same pid after a restart")
		}
		awaitWhole(ctx, t, env, names)
	})
}

// awaitWhole waits until every node sees the whole cluster.
func awaitWhole(ctx context.Context, t *testing.T, env *anomalies.Env, names []string) {
	t.Helper()
	for _, n := range env.ClusterNodes {
		awaitView(ctx, t, n, func(v anomalies.NodeView) bool { return v.Whole(names) }, n.Name()+" sees the whole cluster")
	}
}

func awaitView(ctx context.Context, t *testing.T, n anomalies.ClusterNode, ok func(anomalies.NodeView) bool, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var last any
	for {
		v, err := anomalies.ClusterView(ctx, n)
		if err == nil && ok(v) {
			return
		}
		last = err
		if err == nil {
			last = v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never: %s (last view: %+v)", what, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}
