// Package apptest runs Ticketflow services in-process for integration tests:
// a fresh RabbitMQ vhost per test (so the system's fixed queue names never
// collide between tests on one broker), a runtime started with test-sized
// settings, and helpers to publish, capture and count messages.
//
// # Design
//
//	vh := apptest.NewVHost(t)                        // vhost on the shared broker, deleted at cleanup
//	in := apptest.Start(t, vh, contracts.Tickets, tickets.Wire, apptest.Options{})
//	vh.Publish(t, contracts.InquirySubmitted{...})   // routed by contract, like a service would
//	got := vh.Capture(t, contracts.ExchangeTickets, "#") // a test queue bound to an exchange
//	in.Stop(t)                                       // Run must return nil
//
// Only tests import it (it imports testing and internal/labtest).
//
// # Best practices
//
//   - One vhost per test; several instances of a service share it (pass the
//     same VHost to Start) to test anomaly sync.
//   - Poll with labtest.Eventually; never sleep for a message.
package apptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// VHost is a private vhost on the test binary's broker.
type VHost struct {
	Name    string
	AMQPURL string
}

var vhostSeq atomic.Int64

// NewVHost creates a vhost (through the management API) with full
// permissions for the broker's user and deletes it at cleanup.
func NewVHost(t testing.TB) VHost {
	t.Helper()
	name := fmt.Sprintf("apptest-%s-%d", strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()), vhostSeq.Add(1))
	return VHost{Name: name, AMQPURL: labtest.VHost(t, name)}
}

// Options tune one test instance.
type Options struct {
	// Instance number (default 1).
	Instance int
	// Settings override the test defaults (see Defaults).
	Settings map[string]string
	// Unprotect switches protections off.
	Unprotect []string
	// DBPath reuses a database (a restart); "" makes a new one.
	DBPath string
	// Seed of the instance (default 1).
	Seed int64
	// Migrations are the service's schema sets (as its Main passes them).
	Migrations []store.Migrations
}

// Defaults are the settings of a test instance: short retries, quick
// confirms, no metric ticks.
func Defaults() map[string]string {
	return map[string]string{
		runtime.SettingHeartbeat: "2s", runtime.SettingConfirmTimeout: "2s", app.SettingRetryDelay: "100ms",
		app.SettingMaxAttempts: "3", app.SettingMetricsInterval: "0", runtime.SettingShutdownTimeout: "3s",
		runtime.SettingOutboxPoll: "200ms",
	}
}

// Instance is one running service instance.
type Instance struct {
	RT *app.Runtime
	// URL is the HTTP base, e.g. http://127.0.0.1:40123.
	URL string
	// Config is the process config it runs with.
	Config service.Config

	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// Start builds a runtime for svc in vh, wires it, runs it and waits until
// GET /health answers 200. Stop runs at cleanup if the test did not.
func Start(t testing.TB, vh VHost, svc contracts.Service, wire func(*app.Runtime) error, o Options) *Instance {
	t.Helper()
	if o.Instance == 0 {
		o.Instance = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	dir := t.TempDir()
	if o.DBPath == "" {
		o.DBPath = filepath.Join(dir, "db.sqlite")
	}
	set := Defaults()
	maps.Copy(set, o.Settings)
	cfg := service.Config{System: "ticketflow", Name: svc.Name, Instance: o.Instance, AMQPURL: vh.AMQPURL,
		HTTPAddr: "127.0.0.1:0", DBPath: o.DBPath, SpanFile: filepath.Join(dir, "spans.jsonl"), RunDir: dir,
		Seed: o.Seed, Unprotect: o.Unprotect, Settings: set}
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := app.New(ctx, cfg, labtest.Logger(t), app.Spec{Service: svc, Migrations: o.Migrations})
	if err != nil {
		cancel()
		t.Fatalf("app.New %s: %v", svc.Name, err)
	}
	if wire != nil {
		if err := wire(rt); err != nil {
			cancel()
			_ = rt.Close()
			t.Fatalf("wire %s: %v", svc.Name, err)
		}
	}
	in := &Instance{RT: rt, URL: "http://" + rt.Addr(), Config: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- rt.Run(ctx) }()
	t.Cleanup(func() { in.Stop(t) })
	labtest.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-in.done:
			in.done <- err
			return nil // reported below
		default:
		}
		resp, err := http.Get(in.URL + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	})
	select {
	case err := <-in.done:
		t.Fatalf("%s stopped during start: %v", svc.Name, err)
	default:
	}
	return in
}

// Stop cancels the instance and fails the test unless Run returns nil
// within 20 s. It is idempotent.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	if in.stopped {
		return
	}
	in.stopped = true
	in.cancel()
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("Run returned %v on a clean stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("Run did not return within 20s of the stop")
	}
}

// Do sends an HTTP request with a JSON body (nil = none) and returns the
// status and body.
func (in *Instance) Do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd *strings.Reader
	switch b := body.(type) {
	case nil:
		rd = strings.NewReader("")
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequestWithContext(t.Context(), method, in.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, raw
}

var errNoChannel = errors.New("no channel")

// Channel opens an AMQP channel in the vhost, closed at cleanup.
func (vh VHost) Channel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(vh.AMQPURL)
	if err != nil {
		t.Fatalf("dial %s: %v", vh.Name, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("%v: %v", errNoChannel, err)
	}
	return ch
}

// Publish publishes m where its contract routes it (as sender appName),
// with a fresh message id, which it returns. Versioned messages carry
// their aggregate headers.
func (vh VHost) Publish(t testing.TB, m contracts.Message) string {
	t.Helper()
	return vh.PublishWithID(t, m, messaging.NewID())
}

// PublishWithID is Publish with a given message id (to send duplicates).
func (vh VHost) PublishWithID(t testing.TB, m contracts.Message, id string) string {
	t.Helper()
	r, err := contracts.RouteFor(m, "apptest")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := messaging.NewMessage(m.MessageType(), m)
	if err != nil {
		t.Fatal(err)
	}
	msg.ID = id
	msg.Timestamp = time.Now()
	if v, ok := m.(contracts.Versioned); ok && v.AggregateVersion() > 0 {
		msg = msg.WithAggregate(v.AggregateID(), int64(v.AggregateVersion()))
	}
	vh.Declare(t)
	ch := vh.Channel(t)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), r.Exchange, r.RoutingKey, true, false, msg.Publishing(nil))
	if err != nil {
		t.Fatalf("publish %s: %v", m.MessageType(), err)
	}
	if ok, err := conf.WaitContext(t.Context()); err != nil || !ok {
		t.Fatalf("publish %s not confirmed: %v", m.MessageType(), err)
	}
	return id
}

// Declare declares Ticketflow's static topology in the vhost (idempotent;
// the services declare the same), so tests can bind and publish before any
// service started.
func (vh VHost) Declare(t testing.TB) {
	t.Helper()
	if err := app.Topology(contracts.Ticketflow()).Declare(vh.Channel(t)); err != nil {
		t.Fatalf("declare topology: %v", err)
	}
}

// Capture declares the static topology and an exclusive test queue bound to
// exchange with key, and returns its deliveries (auto-acked).
func (vh VHost) Capture(t testing.TB, exchange, key string) <-chan amqp.Delivery {
	t.Helper()
	vh.Declare(t)
	ch := vh.Channel(t)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatalf("capture queue: %v", err)
	}
	if err := ch.QueueBind(q.Name, key, exchange, false, nil); err != nil {
		t.Fatalf("bind capture queue to %s: %v", exchange, err)
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatalf("consume capture queue: %v", err)
	}
	return d
}

// Depth returns the number of ready messages in queue (0 when it does not
// exist).
func (vh VHost) Depth(t testing.TB, queue string) int {
	t.Helper()
	ch := vh.Channel(t)
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return 0
		}
		t.Fatalf("inspect %s: %v", queue, err)
	}
	return q.Messages
}

// GetJSON GETs url and decodes a 200 answer into into (nil: only the status
// is checked). It returns an error, not a failure, so it can drive
// labtest.Eventually.
func GetJSON(url string, into any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if into == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
