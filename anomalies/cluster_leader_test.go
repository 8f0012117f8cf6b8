package anomalies

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeClusterNode is a node whose management API is an httptest server.
type fakeClusterNode struct {
	name string
	addr net.IP
	url  string
}

func (n *fakeClusterNode) Name() string                                   { return n.name }
func (n *fakeClusterNode) Ctl(context.Context, ...string) (string, error) { return "", nil }
func (n *fakeClusterNode) Addr() net.IP                                   { return n.addr }
func (n *fakeClusterNode) ManagementURL() string                          { return n.url }
func (n *fakeClusterNode) Kill() error                                    { return nil }
func (n *fakeClusterNode) Pause() error                                   { return nil }
func (n *fakeClusterNode) Resume() error                                  { return nil }
func (n *fakeClusterNode) Restart(context.Context) error                  { return nil }
func (n *fakeClusterNode) PartitionHandling() string                      { return "autoheal" }

// fakeCuts records the cuts in place.
type fakeCuts struct {
	mu   sync.Mutex
	cuts map[string][][2]net.IP
}

func (c *fakeCuts) Cut(key string, pairs ...[2]net.IP) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cuts[key] = pairs
	return nil
}

func (c *fakeCuts) Heal(key string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cuts, key)
	return 7, nil
}

// fakeCluster serves three nodes' management APIs: every node sees the
// cluster whole and reports queue q's leader (quorum) or home node
// (classic, leader empty).
func fakeCluster(t *testing.T, leader, node string) []ClusterNode {
	t.Helper()
	names := []string{"rabbit-1@n1", "rabbit-2@n2", "rabbit-3@n3"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/nodes":
			var rows []map[string]any
			for _, n := range names {
				rows = append(rows, map[string]any{"name": n, "running": true, "partitions": []string{}})
			}
			_ = json.NewEncoder(w).Encode(rows)
		case r.URL.EscapedPath() == "/api/queues/lab-vh/q":
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "q", "type": "quorum", "leader": leader, "node": node})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	var nodes []ClusterNode
	for i, n := range names {
		nodes = append(nodes, &fakeClusterNode{name: n, addr: net.IPv4(10, 77, 0, byte(i+1)), url: srv.URL})
	}
	return nodes
}

func TestClusterLeaderOfTargetsTheLeaderWhenInjected(t *testing.T) {
	for name, tc := range map[string]struct {
		leader, node string
		want         int
	}{
		"quorum leader on node 2":  {"rabbit-2@n2", "rabbit-2@n2", 2},
		"classic queue on node 3":  {"", "rabbit-3@n3", 3},
		"leader differs from node": {"rabbit-1@n1", "rabbit-3@n3", 1},
	} {
		nodes := fakeCluster(t, tc.leader, tc.node)
		cuts := &fakeCuts{cuts: map[string][][2]net.IP{}}
		env := &Env{ClusterNodes: nodes, Cuts: cuts, Management: &Management{VHost: "lab-vh"}, Evidence: NewEvidence()}
		c := &Cluster{Env: env, Op: OpIsolate, LeaderOf: "q"}
		if c.Resolved() != nil {
			t.Errorf("%s: resolved %v before Inject", name, c.Resolved())
		}
		h, err := c.Inject(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key := "isolate-" + string(rune('0'+tc.want))
		pairs := cuts.cuts[key]
		if len(pairs) != 4 {
			t.Fatalf("%s: cuts %v, want 4 pairs under %s", name, cuts.cuts, key)
		}
		target := nodes[tc.want-1].Addr()
		for _, p := range pairs {
			if !p[0].Equal(target) && !p[1].Equal(target) {
				t.Errorf("%s: pair %v does not involve node %d (%v)", name, p, tc.want, target)
			}
		}
		res := c.Resolved()
		if res["node"] != string(rune('0'+tc.want)) || res["leader"] != nodes[tc.want-1].Name() {
			t.Errorf("%s: resolved %v, want node %d", name, res, tc.want)
		}
		if err := h.Heal(t.Context()); err != nil {
			t.Fatalf("%s: heal: %v", name, err)
		}
		if len(cuts.cuts) != 0 {
			t.Errorf("%s: cuts left after heal: %v", name, cuts.cuts)
		}
	}
}

func TestClusterLeaderOfRefusesAnUnknownLeader(t *testing.T) {
	cuts := &fakeCuts{cuts: map[string][][2]net.IP{}}
	for name, nodes := range map[string][]ClusterNode{
		"leader outside the cluster": fakeCluster(t, "rabbit-9@elsewhere", ""),
		"no leader (election)":       fakeCluster(t, "", ""),
	} {
		env := &Env{ClusterNodes: nodes, Cuts: cuts, Management: &Management{VHost: "lab-vh"}}
		c := &Cluster{Env: env, Op: OpNodeKill, LeaderOf: "q"}
		if _, err := c.Inject(t.Context()); err == nil || !strings.Contains(err.Error(), "not a node of the lab's cluster") {
			t.Errorf("%s: err %v", name, err)
		}
		if c.Resolved() != nil {
			t.Errorf("%s: resolved %v", name, c.Resolved())
		}
	}
	env := &Env{ClusterNodes: fakeCluster(t, "rabbit-1@n1", ""), Cuts: cuts, Management: &Management{VHost: "lab-vh"}}
	c := &Cluster{Env: env, Op: OpIsolate, LeaderOf: "no-such-queue"}
	if _, err := c.Inject(t.Context()); err == nil || !strings.Contains(err.Error(), "read the leader of queue no-such-queue") {
		t.Errorf("missing queue: err %v", err)
	}
	if len(cuts.cuts) != 0 {
		t.Errorf("a refused step cut %v", cuts.cuts)
	}
	if got := (&Cluster{Op: OpIsolate, LeaderOf: "q"}).Name(); got != "isolate-leader-of-q" {
		t.Errorf("unresolved name %q", got)
	}
}
