package run

import (
	"encoding/json"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// The counters the executors and the watcher record must be in the
// history's catalog as runner counters, or scenarios could not name them.
func TestRunnerCountersAreInTheCatalog(t *testing.T) {
	names := []string{anomalies.CounterBytesCut, anomalies.CounterBrokerAlarms, anomalies.CounterConnectionsClosed,
		anomalies.CounterConnectionsBlocked, anomalies.CounterClockOffsetMaxMs, anomalies.CounterInAppFired,
		anomalies.CounterProcessesKilled, anomalies.CounterProcessesPaused, "connections.reopened", "queue.depth.max",
		anomalies.CounterClusterPartitions, anomalies.CounterClusterPacketsDropped, anomalies.CounterClusterNodesKilled, anomalies.CounterClusterNodesPaused}
	names = append(names, anomalies.MessageCounters()...)
	for _, n := range names {
		c, ok := history.LookupCounter(n)
		if !ok || c.Source != history.FromRunner {
			t.Errorf("counter %q: in catalog %v, source %q", n, ok, c.Source)
		}
	}
}

// Exit codes of the verdict are the CLI's (DESIGN §6).
func TestVerdictExitCodes(t *testing.T) {
	if check.ExitPass != 0 || check.ExitViolated != 4 || check.ExitInconclusive != 5 {
		t.Fatal("check's exit codes drifted from DESIGN §6")
	}
}

func TestEveryCatalogScenarioIsSupported(t *testing.T) {
	c, err := catalog.Load(allVocs)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.Names() {
		s, _ := c.Get(name)
		for _, control := range []bool{false, true} {
			p, err := s.Plan(spec.PlanOptions{Control: control})
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckSupported(p); err != nil {
				t.Errorf("%s (control %v): %v", name, control, err)
			}
		}
	}
	p := &spec.Plan{Timeline: []spec.Scheduled{{Name: "dup", Action: &spec.MessageAction{Fault: "duplicate-delivery", Service: "sla"}}}}
	if err := CheckSupported(p); err != nil {
		t.Errorf("message action: %v", err)
	}
	a, err := anomalyOf(&spec.MessageAction{Fault: "reorder", Service: "sla", Window: 3, Match: spec.Match{Queue: "q", Nth: 2}}, &anomalies.Env{})
	if m, ok := a.(*anomalies.Message); err != nil || !ok || m.Fault != "reorder" || m.Window != 3 || m.Queue != "q" || m.Nth != 2 {
		t.Errorf("message action maps to %#v, %v", a, err)
	}
}

func TestServiceSpecsSwitchOffThePlansProtections(t *testing.T) {
	c, _ := catalog.LoadSystem(ticketflowVocs[0])
	s, _ := c.Get("quickstart")
	p, err := s.Plan(spec.PlanOptions{Control: true, Unprotect: []string{"dedup:sla"}})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{plan: p, cfg: Config{Settings: map[string]string{"heartbeat": "3s", "max-attempts": "3"}}}
	specs := r.serviceSpecs([]lab.ServiceSpec{{Name: "sla", Settings: map[string]string{"x": "1"}}, {Name: "tickets"}, {Name: "placeholder"}})
	if got := specs[0].Unprotect; !slices.Equal(got, []string{"confirms", "outbox", "dedup"}) {
		t.Errorf("sla unprotect %v", got)
	}
	if got := specs[1].Unprotect; !slices.Equal(got, []string{"confirms", "outbox"}) {
		t.Errorf("tickets unprotect %v", got)
	}
	if len(specs[2].Unprotect) != 0 {
		t.Errorf("a service the plan does not know got %v", specs[2].Unprotect)
	}
	if st := specs[0].Settings; st["heartbeat"] != "3s" || st["confirm-timeout"] != "1s" || st["x"] != "1" {
		t.Errorf("settings %v", st)
	}
	if r.maxAttempts() != 3 {
		t.Errorf("max attempts %d", r.maxAttempts())
	}
}

// fakeManagement serves /api/connections and /api/queues from callbacks.
func fakeManagement(t *testing.T, conns func() []map[string]any, queues func() []map[string]any) *anomalies.Management {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/connections", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(conns()) })
	mux.HandleFunc("GET /api/queues", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(queues()) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &anomalies.Management{URL: srv.URL}
}

func TestWatcherCountsReconnectsAndTheDeepestQueue(t *testing.T) {
	t0 := time.Now().Truncate(time.Millisecond)
	conn := func(name, client string, at time.Time) map[string]any {
		return map[string]any{"name": name, "state": "running", "connected_at": at.UnixMilli(),
			"client_properties": map[string]any{"connection_name": client}}
	}
	var step atomic.Int32
	conns := func() []map[string]any {
		switch step.Load() {
		case 0:
			return []map[string]any{conn("c1", "tickets-tickets-publisher", t0), conn("c2", "sla-sla-consumer", t0),
				conn("r", RunnerConnection, t0)}
		default: // tickets reconnected after the fault, sla's publisher too; the runner's connection never counts
			return []map[string]any{conn("c3", "tickets-tickets-publisher", t0.Add(3*time.Second)), conn("c2", "sla-sla-consumer", t0),
				conn("c4", "sla-sla-publisher", t0.Add(4*time.Second)), conn("r2", RunnerConnection, t0.Add(4*time.Second))}
		}
	}
	q := func(name string, ready int) map[string]any {
		return map[string]any{"name": name, "vhost": "/", "messages_ready": ready}
	}
	queues := func() []map[string]any {
		if step.Load() == 0 {
			return []map[string]any{q("sla-ticket-changes", 2), q(messaging.DeadLetterQueueName("sla-ticket-changes"), 50)}
		}
		return []map[string]any{q("sla-ticket-changes", 7), q(messaging.DeadLetterQueueName("sla-ticket-changes"), 90)}
	}
	w := newWatcher(fakeManagement(t, conns, queues), time.Second, nil)
	w.poll(t.Context())
	step.Store(1)
	w.poll(t.Context())
	got := w.counters(t0.Add(2 * time.Second))
	if got["connections.reopened"] != 2 || got["queue.depth.max"] != 7 {
		t.Fatalf("counters %v, want 2 reopened (tickets, sla) and depth 7 (the DLQ does not count)", got)
	}
	if got := w.counters(t0.Add(3500 * time.Millisecond)); got["connections.reopened"] != 1 {
		t.Errorf("only connections opened after the first fault count: %v", got)
	}
	if got := w.counters(time.Time{}); got["connections.reopened"] != 0 {
		t.Errorf("without a fault nothing is a reconnect: %v", got)
	}
	if got := newWatcher(nil, time.Second, nil).counters(t0); len(got) != 0 {
		t.Errorf("no management API, yet counters %v", got)
	}
}

// The holdings say since when a queue has held unacked deliveries: from the
// first poll that saw them, reset by a poll that saw none.
func TestWatcherTracksSinceWhenAQueueHoldsUnacked(t *testing.T) {
	t0 := time.Now()
	q := func(name string, unacked int) anomalies.Queue { return anomalies.Queue{Name: name, Unacked: unacked} }
	dlq := messaging.DeadLetterQueueName("sla-ticket-changes")
	w := newWatcher(nil, time.Second, nil)
	for i, qs := range [][]anomalies.Queue{
		{q("sla-ticket-changes", 1), q("tickets-x", 2), q(dlq, 0)},
		{q("sla-ticket-changes", 1), q("tickets-x", 0), q(dlq, 0)},
		{q("sla-ticket-changes", 1), q("tickets-x", 3), q(dlq, 0)},
	} {
		w.mu.Lock()
		w.observeQueuesLocked(qs, t0.Add(time.Duration(i)*time.Second))
		w.mu.Unlock()
	}
	got := w.unackedSince()
	if !got["sla-ticket-changes"].Equal(t0) || !got["tickets-x"].Equal(t0.Add(2*time.Second)) || len(got) != 2 {
		t.Fatalf("unacked since %v; want sla-ticket-changes since the first poll, tickets-x since the third", got)
	}
	for conn, want := range map[string]string{"sla-sla-consumer": "sla", "tickets-2-publisher": "tickets", "tflab-runner": "", "slab": ""} {
		if got := serviceOf(conn, []string{"tickets", "sla"}); got != want {
			t.Errorf("serviceOf(%q) = %q, want %q", conn, got, want)
		}
	}
}

func TestInspectionSinksAreLeftOutLikeDeadLetterQueues(t *testing.T) {
	dlq := messaging.DeadLetterQueueName("communication-ticket-resolved")
	qs := []anomalies.Queue{{Name: "communication-ticket-resolved"}, {Name: dlq}, {Name: contracts.QueueFaults}, {Name: "sla-ticket-changes"}}
	got := deadLetterQueues(qs, contracts.InspectionQueues)
	if len(got) != 2 || !got[dlq] || !got[contracts.QueueFaults] {
		t.Fatalf("sinks %v; want the dead-letter queue and the faults queue", got)
	}
	if o := dlqOrigins(qs); len(o) != 1 || o[dlq] != "communication-ticket-resolved" {
		t.Fatalf("origins %v; the faults queue is no dead-letter queue", o)
	}
	// The watcher ignores the faults queue's messages too.
	w := newWatcher(nil, time.Second, nil)
	w.sinks = contracts.InspectionQueues
	w.mu.Lock()
	w.observeQueuesLocked([]anomalies.Queue{{Name: contracts.QueueFaults, Ready: 7, Unacked: 1}}, time.Now())
	w.mu.Unlock()
	if len(w.unackedSince()) != 0 || w.maxReady != 0 {
		t.Fatalf("the watcher counted the faults queue: unacked %v, max ready %d", w.unackedSince(), w.maxReady)
	}
}

func TestDeadLettersAreAttributedToTheConsumingService(t *testing.T) {
	dlq := messaging.DeadLetterQueueName("communication-ticket-resolved")
	qs := []anomalies.Queue{{Name: "communication-ticket-resolved"}, {Name: dlq}, {Name: "orphan.x"}}
	if o := dlqOrigins(qs); len(o) != 1 || o[dlq] != "communication-ticket-resolved" {
		t.Fatalf("origins %v", o)
	}
	raw := []deadLetterRaw{{origin: "communication-ticket-resolved", dl: history.DeadLetter{Queue: dlq, MessageID: "m1"}}}
	events := []history.Event{{Kind: history.KindProcess, Destination: "communication-ticket-resolved", Service: "communication"}}
	got := attributeDeadLetters(raw, events)
	if len(got) != 1 || got[0].Service != "communication" || got[0].MessageID != "m1" {
		t.Fatalf("%+v", got)
	}
}

// serviceDB creates a real service database with the service's migrations.
func serviceDB(t *testing.T, name string, m store.Migrations) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".sqlite")
	db, err := store.Open(t.Context(), store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context(), messaging.Migrations, m); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// unsentOutbox counts the rows the relay has not sent, in any service's
// database.
func TestUnsentOutbox(t *testing.T) {
	ctx := t.Context()
	slaDB, slaPath := serviceDB(t, "sla", sla.Migrations)
	n, err := unsentOutbox(ctx, []DB{{Service: "sla", Instance: "sla", Path: slaPath}})
	if err != nil || n != 0 {
		t.Errorf("outbox %d %v", n, err)
	}
	if _, err := slaDB.Exec(ctx, `INSERT INTO outbox (message_id, exchange, routing_key, type, correlation_id, causation_id,
		aggregate_id, aggregate_version, partition_key, headers, body, created_at) VALUES ('x','e','k','T','','','',0,'','{}',x'00','now')`); err != nil {
		t.Fatal(err)
	}
	if n, err := unsentOutbox(ctx, []DB{{Service: "sla", Instance: "sla", Path: slaPath}}); err != nil || n != 1 {
		t.Errorf("outbox after an insert: %d %v", n, err)
	}
}

func TestThroughputProbe(t *testing.T) {
	t0 := time.Now()
	var events []history.Event
	for i := range 30 {
		events = append(events, history.Event{Kind: history.KindProcess, End: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	events = append(events, history.Event{Kind: history.KindPublish, End: t0})
	p := throughputProbe(history.ProbeAfter, spec.Probe{Probe: ProbeMinThroughput, Min: 9}, events, t0, t0.Add(3*time.Second))
	if !p.OK || !strings.Contains(p.Detail, "10.0 handlings/s") {
		t.Errorf("%+v", p)
	}
	if p := throughputProbe(history.ProbeAfter, spec.Probe{Probe: ProbeMinThroughput, Min: 11}, events, t0, t0.Add(3*time.Second)); p.OK {
		t.Errorf("%+v", p)
	}
}

// Verify re-judges a saved run to the same verdict, from events.jsonl and
// from nothing but span files.
func TestVerifyReproducesTheVerdict(t *testing.T) {
	dir := t.TempDir()
	res := synth.New(synth.Config{Seed: 7, Inquiries: 12})
	h := res.History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	tf(h).Inquiries = tf(h).Inquiries[1:] // a lost inquiry: FAIL
	want := check.Evaluate(h, invariants.All...)
	if want.Outcome != check.OutcomeFail {
		t.Fatalf("setup: %s %s", want.Outcome, want.Reason)
	}
	if err := WriteRunFiles(dir, h, want); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{history.RunFile, history.EventsFile, JournalFile, JUnitFile, ReportFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	got, err := Verify(dir, VerifyOptions{Systems: testSystems})
	if err != nil {
		t.Fatal(err)
	}
	if got.Verdict.Outcome != want.Outcome || got.Verdict.Reason != want.Reason || got.Source != history.EventsFile {
		t.Fatalf("verify: %s %q from %s, want %s %q", got.Verdict.Outcome, got.Verdict.Reason, got.Source, want.Outcome, want.Reason)
	}

	spans := t.TempDir()
	st, err := spanfile.Synthesize(spans, 5000, 1)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(spans, VerifyOptions{Systems: testSystems})
	if err != nil {
		t.Fatal(err)
	}
	if v.Source != "span files" || int(v.Spans.Spans) != st.Spans || v.History.NumEvents() != st.Spans {
		t.Fatalf("spans-only verify read %d of %d spans from %s", v.History.NumEvents(), st.Spans, v.Source)
	}
	// Synthesized spans are not a clean Ticketflow run (about 1 % of the
	// handlings fail without a retry): the checkers must all have run on them.
	if len(v.Verdict.Results) != len(check.All(invariants.All)) || v.Verdict.Outcome == check.OutcomePass {
		t.Errorf("spans-only verdict %s (%d results): %s", v.Verdict.Outcome, len(v.Verdict.Results), v.Verdict.Reason)
	}
}

// Instances of a service share its database: the snapshot must read it once.
func TestLabDBsReadsSharedDatabaseOnce(t *testing.T) {
	info := lab.Info{Services: map[string]lab.ServiceInfo{
		"sla":     {Service: "sla", Instance: 1, DB: "/run/db/sla.sqlite"},
		"sla-2":   {Service: "sla", Instance: 2, DB: "/run/db/sla.sqlite"},
		"tickets": {Service: "tickets", Instance: 1, DB: "/run/db/tickets.sqlite"},
		"metrics": {Service: "metrics", Instance: 1},
	}}
	got := labDBs(info)
	want := []DB{{Service: "sla", Instance: "sla", Path: "/run/db/sla.sqlite"}, {Service: "tickets", Instance: "tickets", Path: "/run/db/tickets.sqlite"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("labDBs = %+v, want %+v", got, want)
	}
}

// tf returns h's Ticketflow snapshot, to break in place (a loaded
// history's JSON is decoded once and then held typed).
func tf(h *history.History) *tfhistory.Snapshot {
	s, err := tfhistory.Of(h)
	if err != nil || s == nil {
		panic("no Ticketflow snapshot in the history")
	}
	h.Snapshot.System = history.NewSystemSnapshot(s) // hold the typed value, so edits stay
	return s
}
