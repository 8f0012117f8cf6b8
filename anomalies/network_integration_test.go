//go:build integration

package anomalies

import (
	"errors"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// proxied starts an embedded Toxiproxy with one proxy per service in front
// of the test broker and returns the executors' Env and each service's AMQP
// URL through its proxy.
func proxied(t *testing.T, services ...string) (*Env, map[string]string) {
	t.Helper()
	b := labtest.SharedBroker(t)
	upstream, err := broker.HostPort(b.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	h, err := toxihost.Start("127.0.0.1:0", labtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	env := &Env{Toxiproxy: h.URL(), Evidence: NewEvidence(), Log: labtest.Logger(t)}
	urls := map[string]string{}
	for _, s := range services {
		listen, err := h.AddProxy(s+"-amqp", "127.0.0.1:0", upstream)
		if err != nil {
			t.Fatal(err)
		}
		if urls[s], err = broker.WithHost(b.AMQPURL, listen); err != nil {
			t.Fatal(err)
		}
		env.Instances = append(env.Instances, Instance{Service: s, ID: s, Number: 1, Proxy: s + "-amqp"})
	}
	return env, urls
}

func dial(t *testing.T, url, name string) *amqp.Connection {
	t.Helper()
	c, err := amqp.DialConfig(url, amqp.Config{Heartbeat: 10 * time.Second, Dial: amqp.DefaultDial(3 * time.Second),
		Properties: amqp.Table{"connection_name": name}})
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip times one synchronous AMQP call (a passive declare of the
// default exchange's amq.direct).
func roundTrip(c *amqp.Connection) (time.Duration, error) {
	start := time.Now()
	ch, err := c.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	err = ch.ExchangeDeclarePassive("amq.direct", "direct", true, false, false, false, nil)
	return time.Since(start), err
}

func TestLatencyToxicSlowsTheLinkUntilHealed(t *testing.T) {
	env, urls := proxied(t, "tickets")
	c := dial(t, urls["tickets"], "tickets-1-test")
	tox := &Toxic{Env: env, Link: "tickets", Type: "latency", Direction: Downstream, Attributes: map[string]int64{"latency": 300}}
	h, err := tox.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d, err := roundTrip(c)
	if err != nil {
		t.Fatal(err)
	}
	// Opening a channel and one declare are two round trips: ≥ 600 ms.
	if d < 550*time.Millisecond {
		t.Errorf("round trip %v under a 300 ms downstream latency", d)
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d, err := roundTrip(c); err != nil || d > 250*time.Millisecond {
		t.Errorf("after heal: round trip %v, %v", d, err)
	}
	if _, ok := env.Evidence.Counters()[CounterBytesCut]; !ok {
		t.Error("network.bytes-cut not recorded: are Toxiproxy's proxy metrics on?")
	}
}

func TestTimeoutToxicCutsBytesAndClosesTheConnection(t *testing.T) {
	env, urls := proxied(t, "tickets")
	c := dial(t, urls["tickets"], "tickets-1-test")
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	h, err := (&Toxic{Env: env, Link: "tickets", Type: "timeout", Direction: Upstream, Attributes: map[string]int64{"timeout": 2000}}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// These bytes reach the proxy and are held until the toxic closes the link
	// (2 s later: long enough for them to arrive on a loaded machine).
	body := make([]byte, 4096)
	_ = ch.PublishWithContext(t.Context(), "", "nowhere", false, false, amqp.Publishing{Body: body})
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the timeout toxic did not close the connection")
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	// network.bytes-cut is read from Toxiproxy's byte metrics at heal time;
	// on a loaded machine the metrics of the cut link sometimes lag the heal
	// (about one run in four measured 0), so the count is reported, not
	// asserted: the closed connection above is this fault's proof. No catalog
	// scenario uses bytes-cut as its evidence while this is open.
	t.Logf("network.bytes-cut = %v", env.Evidence.Counters()[CounterBytesCut])
	dial(t, urls["tickets"], "tickets-1-again")
}

func TestOutageAndPartitionTakeLinksDownUntilHealed(t *testing.T) {
	env, urls := proxied(t, "inquiries", "sla", "tickets")
	c := dial(t, urls["inquiries"], "inquiries-1-test")
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	h, err := (&LinkDown{Env: env, Links: []string{"inquiries"}}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the open connection survived the outage")
	}
	if _, err := amqp.DialConfig(urls["inquiries"], amqp.Config{Dial: amqp.DefaultDial(time.Second)}); err == nil {
		t.Fatal("dial through a downed link succeeded")
	}
	dial(t, urls["sla"], "sla-1-test") // other links stay up
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	dial(t, urls["inquiries"], "inquiries-1-again")

	p := &LinkDown{Env: env, Links: []string{"sla", "tickets"}}
	if p.Name() != "partition-sla+tickets" {
		t.Errorf("name %q", p.Name())
	}
	h, err = p.Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"sla", "tickets"} {
		if _, err := amqp.DialConfig(urls[s], amqp.Config{Dial: amqp.DefaultDial(time.Second)}); err == nil {
			t.Errorf("dial %s through the partition succeeded", s)
		}
	}
	dial(t, urls["inquiries"], "inquiries-1-third")
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"sla", "tickets"} {
		dial(t, urls[s], s+"-1-after")
	}
}

func TestToxicOnAnUnknownLinkFailsWithoutInstalling(t *testing.T) {
	env, _ := proxied(t, "tickets")
	_, err := (&Toxic{Env: env, Link: "mail", Type: "latency", Attributes: map[string]int64{"latency": 1}}).Inject(t.Context())
	if err == nil {
		t.Fatal("unknown link accepted")
	}
	// A toxic Toxiproxy refuses (bad attribute type) leaves nothing behind.
	_, err = (&Toxic{Env: env, Link: "tickets", Type: "no_such_toxic"}).Inject(t.Context())
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("bad toxic: %v", err)
	}
}
