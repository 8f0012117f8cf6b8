package spec

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// TypeCluster is the action type of faults between the nodes of a private
// RabbitMQ cluster (`tflab run --nodes N`).
const TypeCluster = "cluster"

// Cluster operations: cuts between nodes in the lab's nftables table
// (Jepsen's nemesis shapes) and faults of one node's process.
var (
	ClusterOps        = []string{"isolate", "split", "one-way", "bridge", "kill-node", "pause-node", "restart-node"}
	clusterInstantOps = []string{"restart-node"}
)

// ClusterAction cuts a private cluster's nodes apart or kills, pauses or
// restarts one node. Nodes are numbered from 1.
type ClusterAction struct {
	Op string `yaml:"op"`
	// Node is the target: isolated, killed, paused, restarted; the sender
	// of a one-way cut; the bridge node (default: the middle one).
	Node int `yaml:"node"`
	// To is the receiver of a one-way cut.
	To int `yaml:"to"`
	// Minority are the nodes a split cuts off (default: the last ⌊N/2⌋).
	Minority []int `yaml:"minority"`
	// LeaderOf names a queue instead of Node: the target is the node that
	// leads it (a quorum queue's Raft leader, a classic queue's home node)
	// when the step fires, read from the management API.
	LeaderOf string `yaml:"leaderOf"`
}

type clusterStep struct {
	stepCommon    `yaml:",inline"`
	ClusterAction `yaml:",inline"`
}

func (s *clusterStep) parts() (stepCommon, Action) { return s.stepCommon, &s.ClusterAction }

func init() {
	ActionTypes = append(ActionTypes, TypeCluster)
	stepClasses[TypeCluster] = reflect.TypeFor[clusterStep]()
}

var _ Action = (*ClusterAction)(nil)

func (*ClusterAction) Type() string     { return TypeCluster }
func (a *ClusterAction) Instant() bool  { return slices.Contains(clusterInstantOps, a.Op) }
func (a *ClusterAction) Target() string { return "cluster" }

func (a *ClusterAction) Describe() string {
	if a.LeaderOf != "" {
		switch a.Op {
		case "isolate":
			return fmt.Sprintf("the node leading queue %s is cut off from the cluster", a.LeaderOf)
		case "one-way":
			return fmt.Sprintf("the packets of the node leading queue %s to node %d are dropped", a.LeaderOf, a.To)
		}
		return fmt.Sprintf("%s the node leading queue %s", a.Op, a.LeaderOf)
	}
	switch a.Op {
	case "isolate":
		return fmt.Sprintf("node %d is cut off from the cluster", a.Node)
	case "split":
		if len(a.Minority) == 0 {
			return "the cluster splits into majority and minority"
		}
		return fmt.Sprintf("nodes %s split off from the cluster", joinInts(a.Minority))
	case "one-way":
		return fmt.Sprintf("node %d's packets to node %d are dropped", a.Node, a.To)
	case "bridge":
		if a.Node == 0 {
			return "the cluster splits in two halves bridged by the middle node"
		}
		return fmt.Sprintf("the cluster splits in two halves bridged by node %d", a.Node)
	}
	return fmt.Sprintf("%s %d", a.Op, a.Node)
}

func (a *ClusterAction) Params() map[string]string {
	p := map[string]string{"op": a.Op}
	if a.Node != 0 {
		p["node"] = strconv.Itoa(a.Node)
	}
	if a.To != 0 {
		p["to"] = strconv.Itoa(a.To)
	}
	if len(a.Minority) > 0 {
		p["minority"] = joinInts(a.Minority)
	}
	if a.LeaderOf != "" {
		p["leaderOf"] = a.LeaderOf
	}
	return p
}

func (a *ClusterAction) validate(v *validator, path string) {
	if !oneOf(v, path+".op", "cluster op", a.Op, ClusterOps) {
		return
	}
	needsNode := a.Op != "split" && a.Op != "bridge"
	switch {
	case a.LeaderOf != "" && !needsNode:
		v.errorf(path+".leaderOf", "%s takes no leaderOf (only isolate, one-way, kill-node, pause-node, restart-node)", a.Op)
	case a.LeaderOf != "" && a.Node != 0:
		v.errorf(path+".leaderOf", "give node or leaderOf, not both")
	case a.LeaderOf == "" && needsNode && a.Node < 1:
		v.errorf(path+".node", "%s needs a node (1, 2, …) or leaderOf (a queue)", a.Op)
	}
	if a.Node < 0 {
		v.errorf(path+".node", "node %d: nodes are numbered from 1", a.Node)
	}
	if a.Op == "split" && a.Node != 0 {
		v.errorf(path+".node", "split takes minority, not node")
	}
	switch {
	case a.Op == "one-way" && (a.To < 1 || a.To == a.Node):
		v.errorf(path+".to", "one-way needs a node to, other than node")
	case a.Op != "one-way" && a.To != 0:
		v.errorf(path+".to", "only one-way takes to")
	}
	if a.Op != "split" && len(a.Minority) > 0 {
		v.errorf(path+".minority", "only split takes minority")
	}
	for _, m := range a.Minority {
		if m < 1 {
			v.errorf(path+".minority", "node %d: nodes are numbered from 1", m)
		}
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
