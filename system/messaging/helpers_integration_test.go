//go:build integration

package messaging

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
	"github.com/ticketflow-lab/tflab/system/store"
)

// TestMain runs the tests, stops the private node, then checks that no
// goroutine outlived its test (a bus that did not stop, a publisher channel
// or consumer session left behind). Ignored: the embedded Toxiproxy's toxic
// pipeline goroutines, which toxiproxy v2.12.0 itself can leave blocked for
// good (a noop stub sending to the next stub of a link whose timeout toxic
// was removed while it held data); they are not this package's.
func TestMain(m *testing.M) {
	code := labtest.Main(m)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run")); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// effectsMigrations is a tiny service schema: one row per effect applied.
var effectsMigrations = store.Migrations{Component: "testsvc", FS: fstest.MapFS{
	"0001_effects.sql": {Data: []byte(`CREATE TABLE effects (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, msg_id TEXT NOT NULL);`)},
}}

func openStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "svc.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background(), Migrations, effectsMigrations); err != nil {
		t.Fatal(err)
	}
	return db
}

// testConfig is a bus config with test-sized timeouts.
func testConfig(t testing.TB, amqpURL string, prot Protections) Config {
	return Config{
		Service:              "test",
		Instance:             "1",
		URL:                  amqpURL,
		Protections:          prot,
		Publisher:            PublisherConfig{ConfirmTimeout: time.Second, Backoff: Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}},
		Outbox:               OutboxConfig{PollInterval: 100 * time.Millisecond},
		Retry:                RetryConfig{MaxAttempts: 3, Delay: 100 * time.Millisecond},
		Reconnect:            Backoff{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond},
		DialTimeout:          2 * time.Second,
		HandlerTimeout:       10 * time.Second,
		DirectPublishTimeout: 2 * time.Second,
	}
}

// runBus runs b until the test ends and waits until its consumers consume.
func runBus(t testing.TB, b *Bus) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bus run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("bus did not stop within 30 s")
		}
	})
	select {
	case <-b.Ready():
	case err := <-done:
		t.Fatalf("bus stopped early: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("bus consumers not ready within 20 s")
	}
}

// rawChannel is a plain amqp091 channel straight to the broker, for test
// publishing and inspection.
func rawChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(labtest.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func queueTopology(queues ...string) Topology {
	var t Topology
	for _, q := range queues {
		t.Queues = append(t.Queues, Queue{Name: q})
	}
	return t
}

// publishRaw publishes m to queue through the default exchange.
func publishRaw(t testing.TB, ch *amqp.Channel, queue string, m Message) {
	t.Helper()
	if err := ch.PublishWithContext(context.Background(), "", queue, true, false, m.Publishing(nil)); err != nil {
		t.Fatal(err)
	}
}

func count(t testing.TB, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// effectHandler records one effect row per handling.
func effectHandler(ctx context.Context, tx *Tx, d *Delivery) error {
	key := "effect:" + d.ID
	tx.Effect(key)
	_, err := tx.Exec(ctx, `INSERT INTO effects (key, msg_id) VALUES (?, ?)`, key, d.ID)
	return err
}

// drain gets every message currently in queue.
func drain(t testing.TB, ch *amqp.Channel, queue string) []amqp.Delivery {
	t.Helper()
	var out []amqp.Delivery
	for range 10000 {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
	t.Fatalf("queue %s does not drain", queue)
	return nil
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	labtest.Eventually(t, wait, func() error {
		if cond() {
			return nil
		}
		return errors.New(what)
	})
}

// proxied starts an embedded Toxiproxy with one proxy to the broker and
// returns the AMQP URL through it and the proxy handle.
func proxied(t testing.TB) (string, *toxiclient.Proxy) {
	t.Helper()
	h, err := toxihost.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	u, err := url.Parse(labtest.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("svc%d", proxySeq.next())
	listen, err := h.AddProxy(name, "127.0.0.1:0", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Client().Proxy(name)
	if err != nil {
		t.Fatal(err)
	}
	via := *u
	via.Host = listen
	return via.String(), p
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

var proxySeq counter
