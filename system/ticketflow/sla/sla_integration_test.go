//go:build integration

package sla

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

// TestMain also serves as an SLA process: with childEnv set, the test binary
// runs sla.Main with the serve arguments it was given (the two-instance test
// starts real processes, so it can SIGKILL one).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild(os.Args[1:]))
	}
	os.Exit(labtest.Main(m))
}

// fastSettings are test-sized runtime settings.
func fastSettings(extra map[string]string) map[string]string {
	s := map[string]string{"heartbeat": "2s", "confirm-timeout": "1s", "retry-delay": "200ms", "outbox-poll": "100ms",
		"metrics-interval": "0", "shutdown-timeout": "2s"}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// startRuntime builds an app runtime of svc in-process, lets wire register
// the service, runs it until the test ends and waits until it is healthy.
// It returns the HTTP base URL and the database path.
func startRuntime(t *testing.T, svc contracts.Service, settings map[string]string, wire func(*app.Runtime) error) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := service.Config{System: "ticketflow", Name: svc.Name, Instance: 1, AMQPURL: labtest.AMQPURL(t),
		HTTPAddr: "127.0.0.1:0", DBPath: filepath.Join(dir, svc.Name+".db"), SpanFile: filepath.Join(dir, svc.Name+".jsonl"),
		RunDir: dir, Seed: 42, Settings: fastSettings(settings)}
	var migs []store.Migrations
	switch svc.Name {
	case contracts.SLA.Name:
		migs = append(migs, Migrations)
	case contracts.Communication.Name:
		migs = append(migs, communication.Migrations)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := app.New(ctx, cfg, labtest.Logger(t).With("svc", svc.Name), app.Spec{Service: svc, Migrations: migs})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := wire(rt); err != nil {
		cancel()
		_ = rt.Close()
		t.Fatal(err)
	}
	base := "http://" + rt.Addr()
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s stopped with %v", svc.Name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30 s", svc.Name)
		}
	})
	labtest.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("%s stopped early: %v", svc.Name, err)
		default:
		}
		return apptest.GetJSON(base+"/health", nil)
	})
	return base, cfg.DBPath
}

// ticketPublisher publishes ticket events to tickets-exchange as Tickets does.
type ticketPublisher struct {
	t  *testing.T
	ch *amqp.Channel
}

func newTicketPublisher(t *testing.T) *ticketPublisher {
	conn, err := amqp.Dial(labtest.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return &ticketPublisher{t: t, ch: ch}
}

func (p *ticketPublisher) publish(ev contracts.Versioned) {
	p.t.Helper()
	r, ok := contracts.RouteOf(ev.MessageType())
	if !ok {
		p.t.Fatalf("no route for %s", ev.MessageType())
	}
	m := messaging.MustMessage(ev.MessageType(), ev).WithAggregate(ev.AggregateID(), int64(ev.AggregateVersion()))
	if err := p.ch.PublishWithContext(p.t.Context(), r.Exchange, r.RoutingKey, true, false, m.Publishing(nil)); err != nil {
		p.t.Fatal(err)
	}
}

// deadlineWatcher collects DeadlinesCalculated from sla-exchange.
type deadlineWatcher struct {
	mu  sync.Mutex
	got []contracts.DeadlinesCalculated
}

func watchDeadlines(t *testing.T) *deadlineWatcher {
	conn, err := amqp.Dial(labtest.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, contracts.KeyDeadlinesCalculated, contracts.ExchangeSLA, false, nil); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &deadlineWatcher{}
	go func() {
		for d := range ds {
			var dc contracts.DeadlinesCalculated
			if json.Unmarshal(d.Body, &dc) == nil {
				w.mu.Lock()
				w.got = append(w.got, dc)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *deadlineWatcher) of(ticket string) []contracts.DeadlinesCalculated {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []contracts.DeadlinesCalculated
	for _, d := range w.got {
		if d.ServiceSourceID == ticket {
			out = append(out, d)
		}
	}
	return out
}

// TestSLATimelineEndToEnd runs SLA (on a fake clock) and Communication on the
// broker: a VIP critical incident (one-minute SLA) gets its deadline, the
// first reminder at 25 %, is blocked for 100 s (nothing is sent), unblocked
// (every time shifts by 100 s and a new DeadlinesCalculated goes out), then
// gets the second and final reminders and two SLABreached alerts, which
// reach Communication through the alerting exchange; resolving stops them.
func TestSLATimelineEndToEnd(t *testing.T) {
	t0 := time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	commURL, commDB := startRuntime(t, contracts.Communication, nil, func(rt *app.Runtime) error {
		communication.Wire(rt)
		return nil
	})
	slaURL, slaDB := startRuntime(t, contracts.SLA, map[string]string{SettingCommunicationURL: commURL,
		SettingBreachDelay: "10s", SettingBreachInterval: "10s"}, func(rt *app.Runtime) error { return Wire(rt, clk) })
	watcher := watchDeadlines(t)
	pub := newTicketPublisher(t)

	id := "tkt-" + fmt.Sprint(time.Now().UnixNano())
	agent := "agent-7"
	pub.publish(contracts.TicketCreated{ID: id, Version: 1, Email: "anna@devmentors.io", Status: contracts.StatusBeforeQualification, CreatedAt: t0})
	pub.publish(contracts.TicketQualified{TicketID: id, Version: 2, Type: contracts.TypeIncident, SeverityLevel: contracts.SeverityCritical,
		Email: "anna@devmentors.io", CreatedAt: t0})
	pub.publish(contracts.IncidentCreated{TicketID: id, Version: 3, AlertMessageContent: "Incydent " + id, AlertType: contracts.AlertIncident,
		AlertKey: "incident:" + id})
	pub.publish(contracts.AgentAssignedToTicket{TicketID: id, Version: 4, AssignedAgentUserID: agent})

	view := func() View {
		t.Helper()
		var v View
		if err := apptest.GetJSON(slaURL+"/sla/IncidentTicket/"+id+"/deadline-reminders", &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	labtest.Eventually(t, 20*time.Second, func() error {
		var v View
		if err := apptest.GetJSON(slaURL+"/sla/IncidentTicket/"+id+"/deadline-reminders", &v); err != nil {
			return err
		}
		if v.ServiceLastKnownVersion != 4 {
			return fmt.Errorf("version %d, want 4", v.ServiceLastKnownVersion)
		}
		return nil
	})
	v := view()
	if v.DeadlineDateUTC == nil || !v.DeadlineDateUTC.Equal(t0.Add(time.Minute)) || v.UserIDToRemind == nil || *v.UserIDToRemind != agent ||
		!v.FirstReminderDateUTC.Equal(t0.Add(15*time.Second)) || !v.SecondReminderDateUTC.Equal(t0.Add(30*time.Second)) ||
		!v.FinalReminderDateUTC.Equal(t0.Add(54*time.Second)) || v.Tier != TierVIP {
		t.Fatalf("view after qualification: %+v", v)
	}
	labtest.Eventually(t, 10*time.Second, func() error {
		if ds := watcher.of(id); len(ds) != 1 || ds[0].Revision != 1 || !ds[0].DeadlineUTC.Equal(t0.Add(time.Minute)) {
			return fmt.Errorf("DeadlinesCalculated %+v", ds)
		}
		return nil
	})

	// settle moves the fake clock and waits until the scheduler has scanned
	// at the new time and sleeps again (every step is at least MaxWait = 1 s,
	// so every earlier timer fires).
	settle := func(at time.Duration) {
		t.Helper()
		clk.Set(t0.Add(at))
		labtest.Eventually(t, 10*time.Second, func() error {
			if clk.Waiters() == 0 {
				return fmt.Errorf("scheduler still busy at %v", at)
			}
			return nil
		})
	}
	inbox := func() []communication.Message {
		t.Helper()
		var r communication.MessagesResponse
		if err := apptest.GetJSON(commURL+"/logged-users/"+agent+"/messages?limit=100", &r); err != nil {
			t.Fatal(err)
		}
		slices.Reverse(r.Data) // oldest first
		return r.Data
	}
	keysOf := func(ms []communication.Message) (out []string) {
		for _, m := range ms {
			out = append(out, m.IdempotencyKey)
		}
		return out
	}
	waitInbox := func(want ...string) {
		t.Helper()
		labtest.Eventually(t, 10*time.Second, func() error {
			if got := keysOf(inbox()); !reflect.DeepEqual(got, want) {
				return fmt.Errorf("inbox %v, want %v", got, want)
			}
			return nil
		})
	}

	settle(14 * time.Second)
	if got := inbox(); len(got) != 0 {
		t.Fatalf("reminder before 25 %%: %v", keysOf(got))
	}
	settle(15 * time.Second)
	waitInbox("reminder:" + id + ":1")
	if m := inbox()[0]; m.Title != TitleFirstReminder || m.SenderUserID != "" {
		t.Fatalf("first reminder: %+v", m)
	}

	settle(20 * time.Second)
	pub.publish(contracts.TicketBlocked{TicketID: id, Version: 5, Status: contracts.StatusBlocked})
	labtest.Eventually(t, 10*time.Second, func() error {
		if v := view(); !v.Blocked {
			return fmt.Errorf("not blocked yet: %+v", v)
		}
		return nil
	})
	for _, at := range []time.Duration{30, 60, 90, 120} { // past every due time: blocked, so nothing
		settle(at * time.Second)
	}
	if got := keysOf(inbox()); len(got) != 1 {
		t.Fatalf("sent while blocked: %v", got)
	}
	pub.publish(contracts.TicketUnblocked{TicketID: id, Version: 6, Status: contracts.StatusQualified})
	labtest.Eventually(t, 10*time.Second, func() error {
		ds := watcher.of(id)
		if len(ds) != 2 || ds[1].Revision != 2 || !ds[1].DeadlineUTC.Equal(t0.Add(160*time.Second)) {
			return fmt.Errorf("DeadlinesCalculated after unblock %+v", ds)
		}
		return nil
	})
	v = view()
	if v.Blocked || v.PausedMs != 100_000 || !v.SecondReminderDateUTC.Equal(t0.Add(130*time.Second)) ||
		!v.FinalReminderDateUTC.Equal(t0.Add(154*time.Second)) || !v.DeadlineDateUTC.Equal(t0.Add(160*time.Second)) {
		t.Fatalf("view after unblock: %+v", v)
	}

	settle(129 * time.Second)
	settle(130 * time.Second)
	waitInbox("reminder:"+id+":1", "reminder:"+id+":2")
	settle(154 * time.Second)
	waitInbox("reminder:"+id+":1", "reminder:"+id+":2", "reminder:"+id+":3")
	settle(169 * time.Second)
	settle(170 * time.Second) // deadline 160 s + breach delay 10 s
	settle(180 * time.Second) // + breach interval
	breaches := []string{"reminder:" + id + ":1", "reminder:" + id + ":2", "reminder:" + id + ":3",
		"breach-message:" + id + ":1", "breach-message:" + id + ":2"}
	waitInbox(breaches...)

	var alerts []communication.Alert
	labtest.Eventually(t, 10*time.Second, func() error {
		if err := apptest.GetJSON(commURL+"/alerts", &alerts); err != nil {
			return err
		}
		var keys []string
		for _, a := range alerts {
			keys = append(keys, a.IdempotencyKey)
		}
		slices.Sort(keys)
		if want := []string{"breach:" + id + ":1", "breach:" + id + ":2", "incident:" + id}; !reflect.DeepEqual(keys, want) {
			return fmt.Errorf("alerts %v, want %v", keys, want)
		}
		return nil
	})

	pub.publish(contracts.TicketResolved{TicketID: id, Version: 7, Status: contracts.StatusResolved, Email: "anna@devmentors.io",
		Resolution: "done", AssignedAgentUserID: agent})
	labtest.Eventually(t, 10*time.Second, func() error {
		if v := view(); !v.ServiceCompleted || v.DeadlineMet == nil || *v.DeadlineMet {
			return fmt.Errorf("not resolved late yet: %+v", v)
		}
		return nil
	})
	settle(200 * time.Second)
	settle(300 * time.Second)
	if got := keysOf(inbox()); !reflect.DeepEqual(got, breaches) {
		t.Fatalf("inbox after resolution %v", got)
	}

	// The SLA database holds each action once, at its due time.
	db, err := store.Open(t.Context(), store.Config{Path: slaDB})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := NewSQLStore(db, DefaultConfig(), clk).Effects(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s@%v", r.Key, r.Due.Sub(t0)))
	}
	want := []string{"reminder:" + id + ":1@15s", "reminder:" + id + ":2@2m10s", "reminder:" + id + ":3@2m34s",
		"breach:" + id + ":1@2m50s", "breach:" + id + ":2@3m0s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sla_effects\n got %v\nwant %v", got, want)
	}

	// Each action is one trace: its span in SLA is the parent of
	// Communication's PostMessage command (traceparent over HTTP), and a
	// breach's SLABreached handling in Communication is in the same trace.
	slaSpans := readSpans(t, filepath.Join(filepath.Dir(slaDB), contracts.SLA.Name+".jsonl"))
	commSpans := readSpans(t, filepath.Join(filepath.Dir(commDB), contracts.Communication.Name+".jsonl"))
	actions := map[trace.SpanID]spanfile.Record{}
	for _, r := range slaSpans {
		if r.Name == "sla action" {
			actions[r.SpanID] = r
		}
	}
	posts, alertsInActionTrace := 0, 0
	for _, r := range commSpans {
		if r.Name == "command "+contracts.CommandPostCommunicationMsg {
			a, ok := actions[r.ParentSpanID]
			if !ok || a.TraceID != r.TraceID {
				t.Fatalf("PostMessage span %s (trace %s) has no SLA action parent (parent %s)", r.SpanID, r.TraceID, r.ParentSpanID)
			}
			posts++
		}
		if r.Kind == trace.SpanKindConsumer && spanAttr(r, "lab.message.type") == contracts.TypeSLABreached {
			for _, a := range actions {
				if a.TraceID == r.TraceID {
					alertsInActionTrace++
					break
				}
			}
		}
	}
	if posts < len(breaches) || alertsInActionTrace < 2 {
		t.Fatalf("%d PostMessage commands under an SLA action (want at least %d), %d SLABreached handlings in an action's trace (want 2)",
			posts, len(breaches), alertsInActionTrace)
	}
}

// readSpans decodes every line of a span file.
func readSpans(t *testing.T, path string) []spanfile.Record {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []spanfile.Record
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r, err := spanfile.Decode(line)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out
}

func spanAttr(r spanfile.Record, key string) string {
	for _, kv := range r.Attrs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
