package run

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/broker"
)

// fakeMarkers hands out marker connections and remembers their names in
// dial order; a URL in refuse fails.
type fakeMarkers struct {
	mu     sync.Mutex
	names  []string
	closed int
	refuse []string
}

func (f *fakeMarkers) dial(_ context.Context, url, name string) (io.Closer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.Contains(f.refuse, url) {
		return nil, errors.New("connection refused")
	}
	f.names = append(f.names, name)
	return closer{f}, nil
}

// name is the ith marker's connection_name ("" before it is dialled).
func (f *fakeMarkers) name(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.names) {
		return ""
	}
	return f.names[i]
}

type closer struct{ f *fakeMarkers }

func (c closer) Close() error {
	c.f.mu.Lock()
	c.f.closed++
	c.f.mu.Unlock()
	return nil
}

func connAt(name, client string, at time.Time) map[string]any {
	return map[string]any{"name": name, "state": "running", "connected_at": at.UnixMilli(),
		"client_properties": map[string]any{"connection_name": client}}
}

var threeNodes = []broker.Node{{Name: "n1", AMQPURL: "amqp://n1"}, {Name: "n2", AMQPURL: "amqp://n2"}, {Name: "n3", AMQPURL: "amqp://n3"}}

// The last read polls until every node's marker is listed, and the
// connections listed by then count: here a reconnect the watcher's polls
// never saw, listed only with the third poll, like a node whose statistics
// lag.
func TestLastConnectionsWaitsForEveryNodesMarker(t *testing.T) {
	t0 := time.Now().Truncate(time.Millisecond)
	var polls atomic.Int32
	markers := &fakeMarkers{}
	m := fakeManagement(t, func() []map[string]any {
		out := []map[string]any{connAt("c1", "sla-sla-consumer", t0), connAt("m1", markers.name(0), t0.Add(5*time.Second))}
		if polls.Add(1) >= 3 {
			out = append(out, connAt("c2", "tickets-tickets-publisher", t0.Add(3*time.Second)),
				connAt("m2", markers.name(1), t0.Add(5*time.Second)), connAt("m3", markers.name(2), t0.Add(5*time.Second)))
		}
		return out
	}, nil)
	w := newWatcher(m, time.Hour, nil)
	w.polls = 1 // the watcher's own polls answered during the run
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := lastConnections(ctx, w, threeNodes, []*anomalies.Management{m}, 10*time.Millisecond, markers.dial); err != nil {
		t.Fatalf("every marker was listed, yet: %v", err)
	}
	if got := polls.Load(); got != 3 {
		t.Errorf("%d polls, want 3 (until the last markers were listed)", got)
	}
	if got := w.counters(t0.Add(time.Second))["connections.reopened"]; got != 1 {
		t.Errorf("connections.reopened = %v, want 1 (tickets' reconnect; markers never count)", got)
	}
	if markers.closed != 3 || len(slices.Compact(slices.Sorted(slices.Values(markers.names)))) != 3 {
		t.Errorf("markers %q, %d closed; want 3 distinct, all closed", markers.names, markers.closed)
	}
}

// A node whose marker is never listed, or cannot be opened, is named in the
// error once ctx ends; the read still counts what it listed.
func TestLastConnectionsNamesTheNodesItCouldNotRead(t *testing.T) {
	t0 := time.Now().Truncate(time.Millisecond)
	markers := &fakeMarkers{refuse: []string{"amqp://n3"}}
	m := fakeManagement(t, func() []map[string]any {
		return []map[string]any{connAt("m1", markers.name(0), t0), connAt("c2", "tickets-tickets-publisher", t0.Add(3*time.Second))}
	}, nil)
	w := newWatcher(m, time.Hour, nil)
	w.polls = 1
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := lastConnections(ctx, w, threeNodes, []*anomalies.Management{m}, 10*time.Millisecond, markers.dial)
	if err == nil {
		t.Fatal("node 2's marker never listed and node 3's never opened, yet no error")
	}
	for _, want := range []string{"node n2: marker connection not listed", "node n3: marker connection: connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "node n1") {
		t.Errorf("node 1's marker was listed, yet the error names it: %v", err)
	}
	if got := w.counters(t0.Add(time.Second))["connections.reopened"]; got != 1 {
		t.Errorf("connections.reopened = %v, want the 1 listed", got)
	}
}

// A management API that does not answer (a node autoheal restarts) is cut
// off after lastConnectionsCall and the next node's is asked.
func TestLastConnectionsAsksTheNextNodesAPI(t *testing.T) {
	t0 := time.Now().Truncate(time.Millisecond)
	stuck := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(stuck.Close)
	markers := &fakeMarkers{}
	m := fakeManagement(t, func() []map[string]any {
		return []map[string]any{connAt("m1", markers.name(0), t0)}
	}, nil)
	apis := nodeAPIs(&anomalies.Management{URL: stuck.URL, VHost: "lab"}, []broker.Node{{Name: "n1", ManagementURL: stuck.URL}, {Name: "n2", ManagementURL: m.URL}})
	if len(apis) != 2 || apis[1].URL != m.URL || apis[1].VHost != "lab" {
		t.Fatalf("apis %+v, want the primary's then node 2's, both in vhost lab", apis)
	}
	apis[1].VHost = "" // the fake serves /api/connections only
	start := time.Now()
	if err := lastConnections(t.Context(), newWatcher(m, time.Hour, nil), threeNodes[:1], apis, 10*time.Millisecond, markers.dial); err != nil {
		t.Fatalf("node 2's API answered, yet: %v", err)
	}
	if d := time.Since(start); d < lastConnectionsCall || d > lastConnectionsCall+10*time.Second {
		t.Errorf("took %s, want node 1's API cut off after %s", d, lastConnectionsCall)
	}
	if err := lastConnections(t.Context(), nil, threeNodes, nil, time.Second, markers.dial); err == nil {
		t.Error("no management API, yet no error")
	}
}
