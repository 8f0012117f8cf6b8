package anomalies

import (
	"slices"
	"testing"
)

func TestClusterShapes(t *testing.T) {
	for _, tc := range []struct {
		c     Cluster
		size  int
		pairs [][2]int
	}{
		{Cluster{Op: OpIsolate, Node: 2}, 3, [][2]int{{2, 1}, {1, 2}, {2, 3}, {3, 2}}},
		{Cluster{Op: OpSplit}, 5, [][2]int{{4, 1}, {1, 4}, {4, 2}, {2, 4}, {4, 3}, {3, 4}, {5, 1}, {1, 5}, {5, 2}, {2, 5}, {5, 3}, {3, 5}}},
		{Cluster{Op: OpSplit, Minority: []int{1}}, 3, [][2]int{{1, 2}, {2, 1}, {1, 3}, {3, 1}}},
		{Cluster{Op: OpOneWay, Node: 3, To: 1}, 3, [][2]int{{3, 1}}},
		{Cluster{Op: OpBridge}, 3, [][2]int{{1, 3}, {3, 1}}},
		{Cluster{Op: OpBridge}, 5, [][2]int{{1, 4}, {4, 1}, {1, 5}, {5, 1}, {2, 4}, {4, 2}, {2, 5}, {5, 2}}},
	} {
		s, err := tc.c.Shape(tc.size)
		if err != nil {
			t.Errorf("%s of %d: %v", tc.c.Name(), tc.size, err)
			continue
		}
		if !slices.Equal(s.Pairs, tc.pairs) {
			t.Errorf("%s of %d: pairs %v, want %v", tc.c.Name(), tc.size, s.Pairs, tc.pairs)
		}
	}
	for _, bad := range []struct {
		c    Cluster
		size int
	}{
		{Cluster{Op: OpIsolate, Node: 4}, 3},
		{Cluster{Op: OpIsolate, Node: 1}, 1},
		{Cluster{Op: OpSplit, Minority: []int{1, 2}}, 3},
		{Cluster{Op: OpOneWay, Node: 1, To: 1}, 3},
		{Cluster{Op: OpBridge}, 2},
		{Cluster{Op: OpBridge, Node: 3}, 3},
		{Cluster{Op: OpNodeKill, Node: 1}, 3},
	} {
		if s, err := bad.c.Shape(bad.size); err == nil {
			t.Errorf("%s of %d: shape %+v, want an error", bad.c.Name(), bad.size, s)
		}
	}
}

func TestClusterNames(t *testing.T) {
	for c, want := range map[*Cluster]string{
		{Op: OpIsolate, Node: 3}:          "isolate-3",
		{Op: OpSplit}:                     "split",
		{Op: OpSplit, Minority: []int{2}}: "split-2",
		{Op: OpOneWay, Node: 1, To: 2}:    "one-way-1-2",
		{Op: OpNodePause, Node: 2}:        "pause-node-2",
	} {
		if got := c.Name(); got != want {
			t.Errorf("Name() = %q, want %q", got, want)
		}
	}
}

func TestClusterHealsGetLonger(t *testing.T) {
	if got := HealTimeoutOf(&Cluster{Op: OpIsolate}, DefaultHealTimeout); got != ClusterHealTimeout {
		t.Errorf("cluster heal timeout %v, want %v", got, ClusterHealTimeout)
	}
	if got := HealTimeoutOf(&Broker{Op: OpStop}, DefaultHealTimeout); got != BrokerHealTimeout {
		t.Errorf("broker heal timeout %v, want %v", got, BrokerHealTimeout)
	}
	if got := HealTimeoutOf(&Message{Fault: "drop"}, DefaultHealTimeout); got != DefaultHealTimeout {
		t.Errorf("message fault heal timeout %v, want the default", got)
	}
	if got := HealTimeoutOf(&Cluster{Op: OpIsolate}, 10*ClusterHealTimeout); got != 10*ClusterHealTimeout {
		t.Errorf("a longer configured timeout was cut to %v", got)
	}
}

func TestPartitionsOfSplitsLikeAutoheal(t *testing.T) {
	for name, tc := range map[string]struct {
		cantSee [][]int
		want    [][]int
	}{
		"none":                    {[][]int{nil, nil, nil}, [][]int{{1, 2, 3}}},
		"node 3 isolated":         {[][]int{{3}, {3}, {1, 2}}, [][]int{{1, 2}, {3}}},
		"only node 3 reports":     {[][]int{nil, nil, {1, 2}}, [][]int{{1, 2}, {3}}},
		"only node 1 reports":     {[][]int{{3}, nil, nil}, [][]int{{1, 2}, {3}}},
		"bridge upgraded at 1":    {[][]int{{2, 3}, {1}, {1}}, [][]int{{1}, {2, 3}}},
		"every node alone":        {[][]int{{2, 3}, {1, 3}, {1, 2}}, [][]int{{1}, {2}, {3}}},
		"one-way seen by 2 alone": {[][]int{nil, {1}, nil}, [][]int{{1}, {2, 3}}},
	} {
		if got := PartitionsOf(tc.cantSee); !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestWinnerHasMostClientsThenMostNodes(t *testing.T) {
	parts := [][]int{{1}, {2, 3}}
	for name, tc := range map[string]struct {
		clients []int
		want    []int
	}{
		"no clients: most nodes":     {[]int{0, 0, 0}, []int{2, 3}},
		"clients outweigh nodes":     {[]int{5, 1, 1}, []int{1}},
		"equal clients: most nodes":  {[]int{2, 1, 1}, []int{2, 3}},
		"unknown counts: most nodes": {nil, []int{2, 3}},
		"clients on the larger side": {[]int{0, 0, 4}, []int{2, 3}},
	} {
		if got := Winner(parts, tc.clients); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	if got := Winner([][]int{{1}, {2}, {3}}, nil); !slices.Equal(got, []int{1}) {
		t.Errorf("a tie: %v, want the lowest node's partition [1]", got)
	}
}

func TestStuckNodesRestartsTheLosersOrTheSilentNodes(t *testing.T) {
	seen := &NodeView{}
	asked := false
	clients := func() []int { asked = true; return []int{0, 3, 1} }
	// The run of 2026-12-05: node 1 (cut off, autoheal's loser) stopped its
	// application and never started it again; node 3 still reported it
	// partitioned.
	if got := stuckNodes([][]int{{1}, {2, 3}}, []*NodeView{nil, seen, seen}, clients); !slices.Equal(got, []int{1}) || !asked {
		t.Errorf("two partitions: restart %v (clients asked: %v), want [1] outside the winner", got, asked)
	}
	asked = false
	if got := stuckNodes([][]int{{1, 2, 3}}, []*NodeView{seen, nil, seen}, clients); !slices.Equal(got, []int{2}) || asked {
		t.Errorf("no partition reported: restart %v (clients asked: %v), want [2], the node that does not answer", got, asked)
	}
	if got := stuckNodes([][]int{{1, 2, 3}}, []*NodeView{seen, seen, seen}, clients); len(got) != 0 {
		t.Errorf("every node answers, no partition: restart %v, want none", got)
	}
}
