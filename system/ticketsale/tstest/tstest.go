package tstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

// Store opens a store in a temporary folder with the write log and sets
// applied; it is closed when the test ends.
func Store(t testing.TB, sets ...store.Migrations) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "svc.db")})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(t.Context(), append([]store.Migrations{common.WriteLogMigrations}, sets...)...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// InTx runs fn in one transaction of db and returns its error.
func InTx(t testing.TB, db *store.DB, fn func(ctx context.Context, q store.Querier) error) error {
	t.Helper()
	return db.InTx(t.Context(), func(ctx context.Context, tx *store.Tx) error { return fn(ctx, tx) })
}

// Count runs a COUNT query on db.
func Count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Instance is a ticketsale service running in the test process.
type Instance struct {
	RT   *tsapp.Runtime
	URL  string
	done chan error
	stop context.CancelFunc
	once sync.Once
}

// WireErr adapts a Wire without an error result.
func WireErr(wire func(*tsapp.Runtime)) func(*tsapp.Runtime) error {
	return func(rt *tsapp.Runtime) error { wire(rt); return nil }
}

// Config is a service config for an in-process instance: loopback port 0,
// a store in a temporary folder, the broker at amqpURL, settings on top of
// a short ackWait (1s).
func Config(t testing.TB, name, amqpURL string, instance int, settings map[string]string) service.Config {
	s := map[string]string{tsapp.SettingAckWait: "1s", runtime.SettingOutboxPoll: "100ms"}
	for k, v := range settings {
		s[k] = v
	}
	if amqpURL == "" {
		amqpURL = "amqp://guest:guest@127.0.0.1:1/"
	}
	return service.Config{System: tsapp.System, Name: name, Instance: instance, AMQPURL: amqpURL, HTTPAddr: "127.0.0.1:0",
		DBPath: filepath.Join(t.TempDir(), name+".db"), Seed: 1, Settings: s}
}

// Start runs the service of spec with wire in the test process until the
// test ends, and waits until its consumers are ready. A cfg from Config.
func Start(t testing.TB, cfg service.Config, spec tsapp.Spec, wire func(*tsapp.Runtime) error) *Instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := tsapp.New(ctx, cfg, labtest.Logger(t), spec)
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", cfg.Name, err)
	}
	if err := wire(rt); err != nil {
		cancel()
		_ = rt.Close()
		t.Fatalf("wire %s: %v", cfg.Name, err)
	}
	in := &Instance{RT: rt, URL: "http://" + rt.Addr(), done: make(chan error, 1), stop: cancel}
	go func() { in.done <- rt.Run(ctx) }()
	t.Cleanup(func() { in.Stop(t) })
	if rt.Bus() != nil {
		select {
		case <-rt.Bus().Ready():
		case err := <-in.done:
			in.done <- err
			t.Fatalf("%s stopped before it was ready: %v", cfg.Name, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: consumers not ready within 30s", cfg.Name)
		}
	}
	return in
}

// Stop stops the instance and waits for Run to return (idempotent).
func (in *Instance) Stop(t testing.TB) {
	in.once.Do(func() {
		in.stop()
		select {
		case err := <-in.done:
			if err != nil {
				t.Errorf("%s stopped with %v", in.RT.Config().Name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s", in.RT.Config().Name)
		}
	})
}

// NewUser returns a session for a user id signed with the default key.
func NewUser(t testing.TB, id string) *http.Cookie {
	t.Helper()
	s, err := common.NewSigner(common.DefaultJWTKey)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := s.Sign(common.UserPayload{ID: id, Email: id + "@test.dev"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: common.SessionCookie, Value: common.SessionValue(jwt)}
}

// Do sends a request with body as JSON (a string is sent as is) and the
// session cookie (nil: none), and returns the status and body.
func (in *Instance) Do(t testing.TB, session *http.Cookie, method, path string, body any) (int, []byte) {
	t.Helper()
	code, b, err := Request(t.Context(), in.URL, session, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, b
}

// Request is Do without a test.
func Request(ctx context.Context, base string, session *http.Cookie, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if session != nil {
		req.AddCookie(session)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Decode unmarshals body into v or fails the test.
func Decode(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// Broker is a raw AMQP channel on a test's vhost with the events exchange
// declared.
type Broker struct {
	ch *amqp.Channel
}

// Dial opens a channel at url, closed when the test ends.
func Dial(t testing.TB, url string) *Broker {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	if err := tsapp.Topology("", nil).Declare(ch); err != nil {
		t.Fatalf("declare: %v", err)
	}
	return &Broker{ch: ch}
}

// Publish publishes payload as subject on the events exchange with message
// id id ("" = a fresh one) and returns the id.
func (b *Broker) Publish(t testing.TB, subject, id string, payload any) string {
	t.Helper()
	m, err := messaging.NewMessage(subject, payload)
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		m.ID = id
	}
	if err := b.ch.PublishWithContext(t.Context(), common.Exchange, common.RoutingKey(subject), false, false, m.Publishing(nil)); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return m.ID
}

// Capture binds a fresh exclusive queue to subject and returns its
// deliveries.
func (b *Broker) Capture(t testing.TB, subject string) <-chan amqp.Delivery {
	t.Helper()
	q, err := b.ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatalf("capture queue: %v", err)
	}
	if err := b.ch.QueueBind(q.Name, common.RoutingKey(subject), common.Exchange, false, nil); err != nil {
		t.Fatalf("capture bind: %v", err)
	}
	ds, err := b.ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatalf("capture consume: %v", err)
	}
	return ds
}

// Receive waits up to wait for one delivery and decodes its body into v.
func Receive(t testing.TB, ch <-chan amqp.Delivery, wait time.Duration, v any) amqp.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		if v != nil {
			if err := json.Unmarshal(d.Body, v); err != nil {
				t.Fatalf("decode %s: %v", d.Body, err)
			}
		}
		return d
	case <-time.After(wait):
		t.Fatalf("nothing received within %v", wait)
		return amqp.Delivery{}
	}
}

// ErrPending is what Poll conditions return while they wait.
var ErrPending = errors.New("not yet")
