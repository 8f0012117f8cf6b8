//go:build integration

package amqpproxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := labtest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// harness is a proxy in front of the test broker.
type harness struct {
	t      testing.TB
	p      *Proxy
	direct string // AMQP URL of the broker
	url    string // AMQP URL through the proxy
	// connCloseExpected lets a test that injects connection.close see its
	// connections close with an error.
	connCloseExpected bool
}

func newHarness(t testing.TB, rules ...Rule) *harness {
	t.Helper()
	direct := labtest.AMQPURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Upstream: u.Host, Log: labtest.Logger(t), Rand: rand.New(rand.NewPCG(42, 7))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	for _, r := range rules {
		if _, err := p.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	u.Host = p.Addr()
	return &harness{t: t, p: p, direct: direct, url: u.String()}
}

// dial connects through the proxy and fails the test on any connection
// error that the test did not expect (see watch).
func (h *harness) dial() *amqp.Connection {
	h.t.Helper()
	c := dialURL(h.t, h.url)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	h.t.Cleanup(func() {
		select {
		case err := <-closed:
			if err != nil && !h.connCloseExpected {
				h.t.Errorf("connection closed with an error no fault injected: %v", err)
			}
		default:
		}
	})
	return c
}

func dialURL(t testing.TB, u string) *amqp.Connection {
	t.Helper()
	c, err := amqp.DialConfig(u, amqp.Config{Heartbeat: 10 * time.Second, Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// channel opens a channel and records any close the broker or proxy sends.
type channel struct {
	*amqp.Channel
	closed chan *amqp.Error
}

func openChannel(t *testing.T, c *amqp.Connection) *channel {
	t.Helper()
	ch, err := c.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	return &channel{Channel: ch, closed: ch.NotifyClose(make(chan *amqp.Error, 1))}
}

// healthy fails the test if the channel was closed with an error.
func (c *channel) healthy(t *testing.T) {
	t.Helper()
	select {
	case err := <-c.closed:
		if err != nil {
			t.Fatalf("channel closed unexpectedly: %v", err)
		}
	default:
	}
	if c.IsClosed() {
		t.Fatal("channel closed unexpectedly")
	}
}

// declareQueue declares a durable queue that the test deletes at the end,
// on a direct connection (the proxy may be closed by then).
func declareQueue(t *testing.T, ch *channel, direct string) string {
	t.Helper()
	q, err := ch.QueueDeclare(labtest.UniqueName(t, "amqpproxy"), true, false, false, false, nil)
	if err != nil {
		t.Fatalf("declare queue: %v", err)
	}
	t.Cleanup(func() {
		c, err := amqp.Dial(direct)
		if err != nil {
			return
		}
		defer c.Close()
		if dch, err := c.Channel(); err == nil {
			_, _ = dch.QueueDelete(q.Name, false, false, false)
		}
	})
	return q.Name
}

// publishConfirmed publishes msgs to queue q on a confirming channel and
// waits for every confirm.
func publishConfirmed(t *testing.T, ch *channel, q string, msgs ...amqp.Publishing) {
	t.Helper()
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("confirm.select: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var dcs []*amqp.DeferredConfirmation
	for _, m := range msgs {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, m)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		dcs = append(dcs, dc)
	}
	for i, dc := range dcs {
		ok, err := dc.WaitContext(ctx)
		if err != nil || !ok {
			t.Fatalf("confirm of publish %d: ack=%v err=%v", i+1, ok, err)
		}
	}
}

func msg(id, typ string) amqp.Publishing {
	return amqp.Publishing{MessageId: id, Type: typ, DeliveryMode: amqp.Persistent, ContentType: "text/plain", Body: []byte("body of " + id)}
}

// receive reads n deliveries or fails after wait.
func receive(t *testing.T, deliveries <-chan amqp.Delivery, n int, wait time.Duration) []amqp.Delivery {
	t.Helper()
	var out []amqp.Delivery
	deadline := time.After(wait)
	for len(out) < n {
		select {
		case d, ok := <-deliveries:
			if !ok {
				t.Fatalf("delivery channel closed after %d of %d", len(out), n)
			}
			out = append(out, d)
		case <-deadline:
			t.Fatalf("received %d of %d deliveries within %s", len(out), n, wait)
		}
	}
	return out
}

// none fails if a delivery arrives within wait.
func none(t *testing.T, deliveries <-chan amqp.Delivery, wait time.Duration) {
	t.Helper()
	select {
	case d := <-deliveries:
		t.Fatalf("unexpected delivery %q (tag %d, redelivered %v)", d.MessageId, d.DeliveryTag, d.Redelivered)
	case <-time.After(wait):
	}
}

// queueDepth returns the number of ready messages in q, checked on a fresh
// direct connection.
func queueDepth(t *testing.T, direct, q string) int {
	t.Helper()
	c := dialURL(t, direct)
	defer c.Close()
	ch := openChannel(t, c)
	qi, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("inspect queue %s: %v", q, err)
	}
	return qi.Messages
}

func ids(ds []amqp.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.MessageId
	}
	return out
}

func tags(ds []amqp.Delivery) []uint64 {
	out := make([]uint64, len(ds))
	for i, d := range ds {
		out[i] = d.DeliveryTag
	}
	return out
}
