package anomalies

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cluster operations (Jepsen's nemesis shapes plus node process faults).
const (
	OpIsolate     = "isolate"      // one node cut from every other, both ways
	OpSplit       = "split"        // minority cut from majority, both ways
	OpOneWay      = "one-way"      // packets from one node to another dropped
	OpBridge      = "bridge"       // two halves cut apart; one node sees both
	OpNodeKill    = "kill-node"    // SIGKILL the node's VM; Heal starts it again
	OpNodePause   = "pause-node"   // SIGSTOP the node's VM; Heal continues it
	OpNodeRestart = "restart-node" // kill and start again (instant)
)

// ClusterOps lists the cluster operations.
var ClusterOps = []string{OpIsolate, OpSplit, OpOneWay, OpBridge, OpNodeKill, OpNodePause, OpNodeRestart}

// ClusterNode is a node of a private cluster that the cluster faults can
// cut apart, kill, pause and restart. *rabbitnode.Node implements it.
type ClusterNode interface {
	Node
	// Addr is the address its Erlang distribution listens on and connects from.
	Addr() net.IP
	// ManagementURL is its management API base URL.
	ManagementURL() string
	Kill() error
	Pause() error
	Resume() error
	Restart(ctx context.Context) error
	// PartitionHandling is its cluster_partition_handling ("" = ignore).
	PartitionHandling() string
}

// Cuts installs and removes drop rules between addresses in the lab's own
// nftables table. *netfilter.Table implements it.
type Cuts interface {
	// Cut drops packets from p[0] to p[1] for every pair, under key.
	Cut(key string, pairs ...[2]net.IP) error
	// Heal removes the rules under key and returns the packets they dropped.
	Heal(key string) (uint64, error)
}

// Cluster faults a private RabbitMQ cluster between its nodes:
//
//	isolate       node Node cut from every other node, both ways
//	split         the Minority nodes (default: the last ⌊N/2⌋) cut from the rest
//	one-way       packets from node Node to node To dropped (To's answers pass)
//	bridge        the nodes before Node cut from the nodes after it; Node
//	              (default: the middle one) talks to both halves
//	kill-node     SIGKILL node Node; Heal starts it again
//	pause-node    SIGSTOP node Node; Heal continues it
//	restart-node  kill node Node and start it again (instant)
//
// Nodes are numbered from 1 in the order of Env.ClusterNodes. A cut is
// one drop rule per (from, to) address pair in Env.Cuts under the fault's
// name. Heal first records whether the cut showed (cluster.partitions:
// node pairs of the cut that saw each other down in the management API,
// asked of every node), removes the rules (cluster.packets-dropped: what
// they dropped), then waits until every node sees every other running and
// no partition. With cluster_partition_handling = ignore RabbitMQ keeps a
// healed partition on record until the nodes outside one partition restart,
// so when the partition persists Heal restarts the nodes outside the
// winning partition, which it picks from what the nodes report as
// RabbitMQ's autoheal does. A partial cut (one-way, bridge) may end as any
// full partition: RabbitMQ disconnects a node that sees a peer down from
// every node that still sees that peer. Every wait is bounded by ctx.
type Cluster struct {
	Env *Env
	Op  string
	// Node is the target (1-based): isolated, killed, paused, restarted;
	// the sender of a one-way cut; the bridge node.
	Node int
	// To is the receiver of a one-way cut.
	To int
	// Minority are the nodes split off (split only).
	Minority []int
	// LeaderOf, when set, names a queue in the lab's vhost whose leader is
	// the target instead of Node: a quorum queue's Raft leader, a classic
	// (or mirrored) queue's home node, read from the management API when
	// Inject runs. Resolved reports the node it found.
	LeaderOf string

	leader     string // the leader's node name, once resolved
	leaderNode int    // its number, once resolved
}

var _ Anomaly = (*Cluster)(nil)

// ClusterHealTimeout bounds a cluster fault's heal: the nodes reconnect
// within a tick time, a node restarts in 10 to 20 s on a 2-core machine and
// in about a minute when it is loaded, and a partial partition may need a
// second round.
const ClusterHealTimeout = 4 * time.Minute

// HealTimeout implements SlowHealer.
func (c *Cluster) HealTimeout() time.Duration { return ClusterHealTimeout }

var _ SlowHealer = (*Cluster)(nil)

// Name is "<op>[-<node>[-<to>]]" ("split-3", "one-way-1-2"); a LeaderOf
// target not yet resolved is "leader-of-<queue>".
func (c *Cluster) Name() string {
	parts := []string{c.Op}
	switch {
	case c.Op == OpSplit:
		for _, m := range c.Minority {
			parts = append(parts, strconv.Itoa(m))
		}
	case c.target() > 0:
		parts = append(parts, strconv.Itoa(c.target()))
	case c.LeaderOf != "":
		parts = append(parts, "leader-of-"+c.LeaderOf)
	}
	if c.Op == OpOneWay {
		parts = append(parts, strconv.Itoa(c.To))
	}
	return strings.Join(parts, "-")
}

// Shape is a cut: the directed (from, to) node pairs whose packets are
// dropped (1-based).
type Shape struct {
	Pairs [][2]int
}

// Shape computes the partition of a cut op for a cluster of size nodes.
func (c *Cluster) Shape(size int) (Shape, error) {
	in := func(i int) bool { return i >= 1 && i <= size }
	both := func(a, b []int) [][2]int {
		var out [][2]int
		for _, x := range a {
			for _, y := range b {
				out = append(out, [2]int{x, y}, [2]int{y, x})
			}
		}
		return out
	}
	all := make([]int, size)
	for i := range all {
		all[i] = i + 1
	}
	without := func(drop []int) []int {
		return slices.DeleteFunc(slices.Clone(all), func(i int) bool { return slices.Contains(drop, i) })
	}
	if size < 2 {
		return Shape{}, fmt.Errorf("%s needs a cluster of at least 2 nodes, have %d", c.Op, size)
	}
	switch c.Op {
	case OpIsolate:
		if !in(c.target()) {
			return Shape{}, fmt.Errorf("isolate: node %d not in 1..%d", c.target(), size)
		}
		return Shape{Pairs: both([]int{c.target()}, without([]int{c.target()}))}, nil
	case OpSplit:
		minority := c.Minority
		if len(minority) == 0 {
			minority = all[size-size/2:]
		}
		for _, m := range minority {
			if !in(m) {
				return Shape{}, fmt.Errorf("split: node %d not in 1..%d", m, size)
			}
		}
		if 2*len(minority) > size {
			return Shape{}, fmt.Errorf("split: minority %v is not a minority of %d nodes", minority, size)
		}
		return Shape{Pairs: both(minority, without(minority))}, nil
	case OpOneWay:
		from := c.target()
		if !in(from) || !in(c.To) || from == c.To {
			return Shape{}, fmt.Errorf("one-way: from %d to %d: want two different nodes in 1..%d", from, c.To, size)
		}
		return Shape{Pairs: [][2]int{{from, c.To}}}, nil
	case OpBridge:
		if size < 3 {
			return Shape{}, fmt.Errorf("bridge needs at least 3 nodes, have %d", size)
		}
		b := c.Node
		if b == 0 {
			b = (size + 1) / 2
		}
		if b <= 1 || b >= size {
			return Shape{}, fmt.Errorf("bridge: node %d must have nodes on both sides (2..%d)", b, size-1)
		}
		left, right := all[:b-1], all[b:]
		return Shape{Pairs: both(left, right)}, nil
	}
	return Shape{}, fmt.Errorf("%s is not a cut", c.Op)
}

// Inject performs the operation.
func (c *Cluster) Inject(ctx context.Context) (Healer, error) {
	env := c.Env
	nodes := env.ClusterNodes
	if len(nodes) == 0 {
		return nil, fmt.Errorf("inject %s: the lab has no private cluster (start it with --nodes N)", c.Name())
	}
	if c.LeaderOf != "" {
		if err := c.resolveLeader(ctx, nodes); err != nil {
			return nil, fmt.Errorf("inject %s: %w", c.Name(), err)
		}
	}
	switch c.Op {
	case OpNodeKill, OpNodePause, OpNodeRestart:
		return c.nodeFault(ctx, nodes)
	}
	if env.Cuts == nil {
		return nil, fmt.Errorf("inject %s: the lab has no nftables table to cut nodes apart with", c.Name())
	}
	shape, err := c.Shape(len(nodes))
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", c.Name(), err)
	}
	pairs := make([][2]net.IP, len(shape.Pairs))
	for i, p := range shape.Pairs {
		pairs[i] = [2]net.IP{nodes[p[0]-1].Addr(), nodes[p[1]-1].Addr()}
	}
	env.log().Info("Injecting anomaly", "anomaly", c.Name(), "pairs", shape.Pairs)
	key := c.Name()
	if err := env.Cuts.Cut(key, pairs...); err != nil {
		_, herr := env.Cuts.Heal(key)
		return nil, errors.Join(fmt.Errorf("inject %s: %w", c.Name(), err), herr)
	}
	return HealFunc(func(ctx context.Context) error {
		seen := c.partitionsSeen(ctx, nodes, shape)
		env.Evidence.Add(CounterClusterPartitions, float64(seen))
		dropped, err := env.Cuts.Heal(key)
		if err != nil {
			env.log().Info("Anomaly healed", "anomaly", c.Name(), "err", err)
			return fmt.Errorf("heal %s: %w", c.Name(), err)
		}
		env.Evidence.Add(CounterClusterPacketsDropped, float64(dropped))
		err = c.awaitWhole(ctx, nodes)
		env.log().Info("Anomaly healed", "anomaly", c.Name(), "partitionsSeen", seen, "packetsDropped", dropped, "err", err)
		if err != nil {
			return fmt.Errorf("heal %s: %w", c.Name(), err)
		}
		return nil
	}), nil
}

// nodeFault kills, pauses or restarts one node.
func (c *Cluster) nodeFault(ctx context.Context, nodes []ClusterNode) (Healer, error) {
	env := c.Env
	if c.target() < 1 || c.target() > len(nodes) {
		return nil, fmt.Errorf("inject %s: node %d not in 1..%d", c.Name(), c.target(), len(nodes))
	}
	n := nodes[c.target()-1]
	env.log().Info("Injecting anomaly", "anomaly", c.Name(), "node", n.Name())
	healed := func(err error) error {
		env.log().Info("Anomaly healed", "anomaly", c.Name(), "err", err)
		if err != nil {
			return fmt.Errorf("heal %s: %w", c.Name(), err)
		}
		return nil
	}
	switch c.Op {
	case OpNodeKill:
		if err := n.Kill(); err != nil {
			return nil, errors.Join(fmt.Errorf("inject %s: %w", c.Name(), err), healNow(ctx, HealFunc(n.Restart)))
		}
		env.Evidence.Add(CounterClusterNodesKilled, 1)
		return HealFunc(func(ctx context.Context) error {
			if err := n.Restart(ctx); err != nil {
				return healed(err)
			}
			return healed(c.awaitWhole(ctx, nodes))
		}), nil
	case OpNodePause:
		if err := n.Pause(); err != nil {
			return nil, errors.Join(fmt.Errorf("inject %s: %w", c.Name(), err), n.Resume())
		}
		env.Evidence.Add(CounterClusterNodesPaused, 1)
		return HealFunc(func(ctx context.Context) error {
			if err := n.Resume(); err != nil {
				return healed(err)
			}
			return healed(c.awaitWhole(ctx, nodes))
		}), nil
	case OpNodeRestart:
		if err := n.Restart(ctx); err != nil {
			return nil, fmt.Errorf("inject %s: %w", c.Name(), err)
		}
		env.Evidence.Add(CounterClusterNodesKilled, 1)
		return Nothing, nil
	}
	return nil, fmt.Errorf("inject %s: unknown cluster operation %q", c.Name(), c.Op)
}

// target is the node the operation acts on: the resolved leader of
// LeaderOf, else Node.
func (c *Cluster) target() int {
	if c.LeaderOf != "" {
		return c.leaderNode
	}
	return c.Node
}

// Resolved implements Resolver: with LeaderOf, once Inject has found the
// leader, its number ("node") and name ("leader"); nil otherwise.
func (c *Cluster) Resolved() map[string]string {
	if c.LeaderOf == "" || c.leaderNode == 0 {
		return nil
	}
	return map[string]string{"node": strconv.Itoa(c.leaderNode), "leader": c.leader}
}

var _ Resolver = (*Cluster)(nil)

// resolveLeader reads LeaderOf's leader from the first node whose
// management API answers (a quorum queue's "leader", else its "node") and
// finds its number among nodes.
func (c *Cluster) resolveLeader(ctx context.Context, nodes []ClusterNode) error {
	vhost, user, pass := "/", "", ""
	if m := c.Env.Management; m != nil {
		user, pass = m.User, m.Password
		if m.VHost != "" {
			vhost = m.VHost
		}
	}
	var errs []error
	for _, n := range nodes {
		var q struct {
			Type   string `json:"type"`
			Leader string `json:"leader"`
			Node   string `json:"node"`
		}
		m := &Management{URL: n.ManagementURL(), User: user, Password: pass, HTTP: viewHTTP}
		path := "/api/queues/" + url.PathEscape(vhost) + "/" + url.PathEscape(c.LeaderOf)
		if err := m.call(ctx, http.MethodGet, path, nil, &q, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.Name(), err))
			continue
		}
		leader := q.Leader
		if leader == "" {
			leader = q.Node
		}
		i := slices.IndexFunc(nodes, func(n ClusterNode) bool { return n.Name() == leader })
		if i < 0 {
			return fmt.Errorf("the leader of queue %s is %q, not a node of the lab's cluster", c.LeaderOf, leader)
		}
		c.leader, c.leaderNode = leader, i+1
		c.Env.log().Info("Resolved the node leading a queue", "queue", c.LeaderOf, "type", q.Type, "leader", leader, "node", i+1)
		return nil
	}
	return fmt.Errorf("read the leader of queue %s: %w", c.LeaderOf, errors.Join(errs...))
}

// clusterPoll is how often the cluster's view is asked while waiting.
const clusterPoll = 500 * time.Millisecond

// NodeView is one node's view of the cluster (management API /api/nodes).
type NodeView struct {
	// Running says, per node name, whether the asked node sees it running.
	Running map[string]bool
	// Partitions lists, per node name, the nodes it reports partitioned from.
	Partitions map[string][]string
}

// Whole reports whether the view shows all names running and no partition.
func (v NodeView) Whole(names []string) bool {
	for _, n := range names {
		if !v.Running[n] || len(v.Partitions[n]) > 0 {
			return false
		}
	}
	return true
}

// ClusterView asks node's management API how it sees the cluster.
func ClusterView(ctx context.Context, node ClusterNode) (NodeView, error) {
	var rows []struct {
		Name       string   `json:"name"`
		Running    bool     `json:"running"`
		Partitions []string `json:"partitions"`
	}
	m := &Management{URL: node.ManagementURL(), HTTP: viewHTTP}
	if err := m.call(ctx, "GET", "/api/nodes?columns=name,running,partitions", nil, &rows, nil); err != nil {
		return NodeView{}, fmt.Errorf("cluster view of %s: %w", node.Name(), err)
	}
	v := NodeView{Running: map[string]bool{}, Partitions: map[string][]string{}}
	for _, r := range rows {
		v.Running[r.Name] = r.Running
		v.Partitions[r.Name] = r.Partitions
	}
	return v, nil
}

// clusterViews asks every node at once; a node that does not answer (paused,
// down, its application restarting) has a nil view and its error in errs.
func clusterViews(ctx context.Context, nodes []ClusterNode) ([]*NodeView, []error) {
	views := make([]*NodeView, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			v, err := ClusterView(vctx, n)
			if err != nil {
				errs[i] = err
				return
			}
			views[i] = &v
		})
	}
	wg.Wait()
	return views, errs
}

// partitionsSeen counts the cut's node pairs (unordered) of which at least
// one side saw the other down or reported it partitioned.
func (c *Cluster) partitionsSeen(ctx context.Context, nodes []ClusterNode, shape Shape) int {
	views, errs := clusterViews(ctx, nodes)
	for i, err := range errs {
		if err != nil {
			c.Env.log().Warn("Cannot read a node's cluster view", "anomaly", c.Name(), "node", nodes[i].Name(), "err", err)
		}
	}
	sees := func(a, b int) bool { // a sees b cut off
		v := views[a-1]
		name := nodes[b-1].Name()
		return v != nil && (!v.Running[name] || slices.Contains(v.Partitions[nodes[a-1].Name()], name))
	}
	counted := map[[2]int]bool{}
	for _, p := range shape.Pairs {
		k := [2]int{min(p[0], p[1]), max(p[0], p[1])}
		if !counted[k] && (sees(p[0], p[1]) || sees(p[1], p[0])) {
			counted[k] = true
		}
	}
	return len(counted)
}

// awaitWhole waits until every node answers and sees every node running and
// no partition. Under pause_minority and autoheal RabbitMQ ends a partition
// itself once the nodes reach each other again. Under ignore it keeps the
// partition on record until the nodes outside one partition restart, so
// when every node answers and the same partitions are reported by two polls
// in a row, the nodes outside the winning partition (Winner) restart, one
// after the other; a partition that is still reported after that gets
// another round, at most one per node. A restart is the whole VM's (kill,
// start): after a one-way cut, `rabbitmqctl stop_app` then `start_app` on
// the losing node hung for minutes in its boot (rabbit_mnesia:init waiting
// in rabbit_node_monitor:global_sync: the VM's global name server stayed
// blocked on a peer; RabbitMQ's own global-hang workaround fired and did
// not free it), while a fresh VM starts with a fresh name server. Under
// autoheal and pause_minority, a cluster still not whole selfHealGrace
// after the wait began (or after the last restart) is taken as stuck: the
// nodes outside the winning partition restart the same way, or, when the
// nodes that answer report no partition, the nodes that do not answer (an
// autoheal loser whose application stopped and never started again). Every
// wait is bounded by ctx.
func (c *Cluster) awaitWhole(ctx context.Context, nodes []ClusterNode) error {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name()
	}
	restarting := nodes[0].PartitionHandling() == "" || nodes[0].PartitionHandling() == "ignore"
	rounds := 0
	since := time.Now() // of the wait, or of the last restart
	var seen string     // the partitions of the previous poll
	tick := time.NewTicker(clusterPoll)
	defer tick.Stop()
	for {
		views, errs := clusterViews(ctx, nodes)
		whole, answered := true, true
		var last string
		cantSee := make([][]int, len(nodes))
		for i, v := range views {
			if v == nil {
				whole, answered, last = false, false, errs[i].Error()
				continue
			}
			if !v.Whole(names) {
				whole, last = false, fmt.Sprintf("%s sees running %v, partitions %v", names[i], v.Running, v.Partitions)
			}
			for _, p := range v.Partitions[names[i]] {
				if j := slices.Index(names, p); j >= 0 {
					cantSee[i] = append(cantSee[i], j+1)
				}
			}
		}
		if whole {
			return nil
		}
		groups := PartitionsOf(cantSee)
		if !restarting && rounds < len(nodes) && time.Since(since) >= selfHealGrace {
			if restart := stuckNodes(groups, views, func() []int { return c.clients(ctx, nodes) }); len(restart) > 0 {
				rounds++
				c.Env.log().Warn("The cluster did not heal itself; restarting nodes as an operator would",
					"anomaly", c.Name(), "handling", nodes[0].PartitionHandling(), "after", time.Since(since).Round(time.Second),
					"partitions", groups, "restart", restart, "last", last, "round", rounds)
				for _, i := range restart {
					if err := nodes[i-1].Restart(ctx); err != nil {
						return fmt.Errorf("restart %s: %w", nodes[i-1].Name(), err)
					}
				}
				since = time.Now()
				continue
			}
		}
		switch {
		case !restarting || !answered || len(groups) < 2:
			seen = ""
		case fmt.Sprint(groups) != seen:
			seen = fmt.Sprint(groups)
		case rounds < len(nodes):
			rounds++
			seen = ""
			win := Winner(groups, c.clients(ctx, nodes))
			c.Env.log().Info("Partition persists after the heal; restarting the nodes outside the winning partition",
				"anomaly", c.Name(), "partitions", groups, "winner", win, "round", rounds)
			for i, n := range nodes {
				if slices.Contains(win, i+1) {
					continue
				}
				if err := n.Restart(ctx); err != nil {
					return fmt.Errorf("restart %s: %w", n.Name(), err)
				}
			}
			continue // ask again at once: Restart returns once the node serves
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not whole again: %w (last: %s)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// selfHealGrace is how long awaitWhole lets autoheal or pause_minority end
// a partition before it restarts nodes: autoheal restarts the losing side's
// application within seconds of the nodes meeting again (10-40 s on a
// loaded 2-core machine).
const selfHealGrace = 90 * time.Second

// stuckNodes picks the nodes (1-based) to restart when a cluster did not
// heal itself: with two partitions or more, the nodes outside the winner
// (clients, called only then, counts each node's client connections);
// otherwise the nodes whose view is missing (they do not answer).
func stuckNodes(groups [][]int, views []*NodeView, clients func() []int) []int {
	var out []int
	if len(groups) >= 2 {
		win := Winner(groups, clients())
		for i := range views {
			if !slices.Contains(win, i+1) {
				out = append(out, i+1)
			}
		}
		return out
	}
	for i, v := range views {
		if v == nil {
			out = append(out, i+1)
		}
	}
	return out
}

// PartitionsOf splits nodes 1..len(cantSee) into the partitions that see
// each other the way RabbitMQ's autoheal does: starting from one partition
// of every node, each node's list of the nodes it reports partitioned from
// (cantSee[i] for node i+1, 1-based) splits the partition holding it into
// the nodes it sees and the rest. Partitions are in the order of their
// lowest node, each sorted.
func PartitionsOf(cantSee [][]int) [][]int {
	all := make([]int, len(cantSee))
	for i := range all {
		all[i] = i + 1
	}
	parts := [][]int{all}
	for i, cs := range cantSee {
		k := slices.IndexFunc(parts, func(p []int) bool { return slices.Contains(p, i+1) })
		var seen, unseen []int
		for _, n := range parts[k] {
			if slices.Contains(cs, n) {
				unseen = append(unseen, n)
			} else {
				seen = append(seen, n)
			}
		}
		if len(seen) > 0 && len(unseen) > 0 {
			parts = append(slices.Delete(parts, k, k+1), seen, unseen)
		}
	}
	slices.SortFunc(parts, func(a, b []int) int { return a[0] - b[0] })
	return parts
}

// Winner picks the partition whose nodes keep running, as autoheal does: the
// one with most client connections (clients[i] on node i+1), then most
// nodes, then the lowest node.
func Winner(parts [][]int, clients []int) []int {
	score := func(p []int) (int, int) {
		n := 0
		for _, i := range p {
			if i-1 < len(clients) {
				n += clients[i-1]
			}
		}
		return n, len(p)
	}
	best := parts[0]
	for _, p := range parts[1:] {
		bc, bn := score(best)
		pc, pn := score(p)
		if pc > bc || (pc == bc && pn > bn) {
			best = p
		}
	}
	return best
}

// clients counts the client connections on each node, as the node itself
// lists them (0 for a node that does not answer).
func (c *Cluster) clients(ctx context.Context, nodes []ClusterNode) []int {
	out := make([]int, len(nodes))
	for i, n := range nodes {
		var rows []struct {
			Node string `json:"node"`
		}
		m := &Management{URL: n.ManagementURL(), HTTP: viewHTTP}
		if err := m.call(ctx, "GET", "/api/connections?columns=node", nil, &rows, nil); err != nil {
			c.Env.log().Warn("Cannot count a node's client connections", "anomaly", c.Name(), "node", n.Name(), "err", err)
			continue
		}
		for _, r := range rows {
			if r.Node == n.Name() {
				out[i]++
			}
		}
	}
	return out
}

// viewHTTP gives up on a node quickly: a paused node never answers.
var viewHTTP = &http.Client{Timeout: 4 * time.Second}
