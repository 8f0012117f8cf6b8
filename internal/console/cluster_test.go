package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
)

// clusterFake stands in for anomalies.Cluster: it needs the longer heal,
// resolves a leaderOf target to node 2, and records its heal's deadline.
type clusterFake struct {
	a      *spec.ClusterAction
	mu     *sync.Mutex
	healIn *time.Duration // time left on the heal's context
}

func (f clusterFake) Name() string               { return "cluster-" + f.a.Op }
func (f clusterFake) HealTimeout() time.Duration { return anomalies.ClusterHealTimeout }
func (f clusterFake) Resolved() map[string]string {
	if f.a.LeaderOf == "" {
		return nil
	}
	return map[string]string{"node": "2", "leader": "rabbit-2@n2"}
}

func (f clusterFake) Inject(context.Context) (anomalies.Healer, error) {
	if f.a.Op == "restart-node" {
		return anomalies.Nothing, nil
	}
	return anomalies.HealFunc(func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		f.mu.Lock()
		*f.healIn = time.Until(dl)
		f.mu.Unlock()
		return nil
	}), nil
}

// Every cluster operation of the fault schema, from the console's inject
// form: the step the form decodes to reaches the executor, the fault is
// listed until healed (restart-node is instant), its heal gets the cluster
// heal's time, and the console's fault record carries the node a leaderOf
// step resolved to.
func TestConsoleInjectsClusterOperations(t *testing.T) {
	runDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(runDir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	info := lab.Info{System: "ticketflow", RunDir: runDir}
	var (
		mu     sync.Mutex
		got    []*spec.ClusterAction
		healIn time.Duration
	)
	c, err := New(Config{Info: func() lab.Info { return info }, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: t.TempDir(),
		Anomaly: func(a spec.Action) (anomalies.Anomaly, error) {
			ca, ok := a.(*spec.ClusterAction)
			if !ok {
				t.Errorf("a cluster form decoded to %T", a)
				return nil, http.ErrNotSupported
			}
			mu.Lock()
			got = append(got, ca)
			mu.Unlock()
			return clusterFake{a: ca, mu: &mu, healIn: &healIn}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Handler()
	for _, tc := range []struct {
		form url.Values
		want spec.ClusterAction
	}{
		{url.Values{"op": {"isolate"}, "node": {"2"}}, spec.ClusterAction{Op: "isolate", Node: 2}},
		{url.Values{"op": {"isolate"}, "leaderOf": {"sla-ticket-changes"}}, spec.ClusterAction{Op: "isolate", LeaderOf: "sla-ticket-changes"}},
		{url.Values{"op": {"split"}}, spec.ClusterAction{Op: "split"}},
		{url.Values{"op": {"split"}, "minority": {"1, 3"}}, spec.ClusterAction{Op: "split", Minority: []int{1, 3}}},
		{url.Values{"op": {"one-way"}, "node": {"1"}, "to": {"3"}}, spec.ClusterAction{Op: "one-way", Node: 1, To: 3}},
		{url.Values{"op": {"bridge"}}, spec.ClusterAction{Op: "bridge"}},
		{url.Values{"op": {"kill-node"}, "node": {"1"}}, spec.ClusterAction{Op: "kill-node", Node: 1}},
		{url.Values{"op": {"pause-node"}, "node": {"3"}}, spec.ClusterAction{Op: "pause-node", Node: 3}},
		{url.Values{"op": {"restart-node"}, "node": {"2"}}, spec.ClusterAction{Op: "restart-node", Node: 2}},
	} {
		before := len(got)
		if rec := post(h, "/inject/cluster", tc.form, sameSite); rec.Code != http.StatusOK {
			t.Fatalf("%v: %d %s", tc.form, rec.Code, rec.Body)
		}
		if len(got) != before+1 {
			t.Fatalf("%v: reached the executor %d times", tc.form, len(got)-before)
		}
		a := got[len(got)-1]
		if a.Op != tc.want.Op || a.Node != tc.want.Node || a.To != tc.want.To || a.LeaderOf != tc.want.LeaderOf ||
			fmtInts(a.Minority) != fmtInts(tc.want.Minority) {
			t.Errorf("%v decoded to %+v, want %+v", tc.form, *a, tc.want)
		}
	}
	if n := len(c.reg.list()); n != 8 {
		t.Fatalf("%d cluster faults listed, want 8 (restart-node is instant)", n)
	}
	if rec := post(h, "/heal-all", nil, sameSite); rec.Code != http.StatusOK {
		t.Fatalf("heal all: %d %s", rec.Code, rec.Body)
	}
	if n := len(c.reg.list()); n != 0 {
		t.Fatalf("%d faults left after heal all", n)
	}
	if healIn < time.Minute {
		t.Errorf("a cluster heal had %v, want the cluster heal timeout (%v)", healIn, anomalies.ClusterHealTimeout)
	}

	b, err := os.ReadFile(filepath.Join(runDir, "logs", FaultsFile))
	if err != nil {
		t.Fatal(err)
	}
	var leader *history.Fault
	for line := range strings.Lines(string(b)) {
		var f history.Fault
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != spec.TypeCluster {
			t.Errorf("record of type %q", f.Type)
		}
		if f.Params["leaderOf"] != "" {
			leader = &f
		}
	}
	if leader == nil || leader.Params["node"] != "2" || leader.Params["leader"] != "rabbit-2@n2" {
		t.Errorf("the leaderOf fault's record %+v, want the resolved node 2", leader)
	}

	for form, want := range map[string]url.Values{
		"isolate needs a node":      {"op": {"isolate"}},
		"give node or leaderOf":     {"op": {"kill-node"}, "node": {"1"}, "leaderOf": {"q"}},
		"split takes no leaderOf":   {"op": {"split"}, "leaderOf": {"q"}},
		"only one-way takes to":     {"op": {"pause-node"}, "node": {"1"}, "to": {"2"}},
		"nodes are numbered from 1": {"op": {"split"}, "minority": {"0"}},
		"one-way needs a node to":   {"op": {"one-way"}, "node": {"2"}},
		"only split takes minority": {"op": {"bridge"}, "minority": {"1"}},
		"unknown cluster op":        {"op": {"shatter"}},
	} {
		before := len(got)
		rec := post(h, "/inject/cluster", want, sameSite)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), form) {
			t.Errorf("%v: %d, want 400 naming %q\n%s", want, rec.Code, form, rec.Body)
		}
		if len(got) != before {
			t.Errorf("%v: a refused form reached the executor", want)
		}
	}
}

func fmtInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(rune('0' + x))
	}
	return strings.Join(s, ",")
}

// The cluster form offers every operation and a typed list for a split's
// minority (an array without choices).
func TestClusterFormFields(t *testing.T) {
	f := formOf(t, spec.TypeCluster)
	kinds := map[string]Field{}
	for _, fd := range f.Fields {
		kinds[fd.Name] = fd
	}
	if op := kinds["op"]; op.Kind != "select" || strings.Join(op.Options, ",") != strings.Join(spec.ClusterOps, ",") {
		t.Errorf("op field %+v", op)
	}
	for name, kind := range map[string]string{"node": "integer", "to": "integer", "minority": "list", "leaderOf": "text"} {
		if kinds[name].Kind != kind {
			t.Errorf("field %s is %q, want %q", name, kinds[name].Kind, kind)
		}
	}
}
