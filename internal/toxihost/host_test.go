//go:build integration

package toxihost_test

import (
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func TestProxyCarriesAMQPAndOutageBreaksThenHeals(t *testing.T) {
	b := labtest.SharedBroker(t)
	h, err := toxihost.Start("127.0.0.1:0", labtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	upstream := strings.TrimSuffix(strings.TrimPrefix(b.AMQPURL, "amqp://guest:guest@"), "/")
	listen, err := h.AddProxy("svc-amqp", "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatal(err)
	}
	viaProxy := "amqp://guest:guest@" + listen + "/"
	q := labtest.UniqueName(t, "q")

	conn := dial(t, viaProxy)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte("through the proxy")}); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return errNoMessage
		}
		if string(d.Body) != "through the proxy" {
			t.Fatalf("body %q", d.Body)
		}
		return nil
	})

	// The standard client sees the proxy and can take the link down.
	proxies, err := h.Client().Proxies()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := proxies["svc-amqp"]
	if !ok {
		t.Fatalf("client does not list svc-amqp: %v", proxies)
	}
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		if !conn.IsClosed() {
			return errStillOpen
		}
		return nil
	})
	if c, err := amqp.DialConfig(viaProxy, amqp.Config{Dial: amqp.DefaultDial(time.Second)}); err == nil {
		c.Close()
		t.Fatal("dial through a disabled proxy succeeded")
	}
	if err := p.Enable(); err != nil {
		t.Fatal(err)
	}
	conn2 := dial(t, viaProxy)
	defer conn2.Close()
	if _, err := conn2.Channel(); err != nil {
		t.Fatalf("channel after re-enable: %v", err)
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const (
	errNoMessage testErr = "no message yet"
	errStillOpen testErr = "connection still open"
)

func dial(t *testing.T, url string) *amqp.Connection {
	t.Helper()
	var conn *amqp.Connection
	labtest.Eventually(t, 5*time.Second, func() error {
		var err error
		conn, err = amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		return err
	})
	return conn
}
