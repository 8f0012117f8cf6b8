//go:build integration

package anomalies

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// brokerEnv is the executors' Env on the test binary's private node.
func brokerEnv(t *testing.T) (*Env, string) {
	t.Helper()
	node := labtest.PrivateNode(t)
	return &Env{
		Nodes:      []Node{node},
		Management: &Management{URL: node.ManagementURL()},
		Evidence:   NewEvidence(),
		Log:        labtest.Logger(t),
	}, node.AMQPURL()
}

func TestMemoryAlarmBlocksPublishersUntilHealed(t *testing.T) {
	env, url := brokerEnv(t)
	c := dial(t, url, "tickets-1-publisher")
	blocked := c.NotifyBlocked(make(chan amqp.Blocking, 4))
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	h, err := (&Broker{Env: env, Op: OpMemoryAlarm}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	healed := false
	defer func() {
		if !healed {
			hctx, cancel := HealContext(t.Context(), 0)
			defer cancel()
			_ = h.Heal(hctx)
		}
	}()
	if got := env.Evidence.Counters()[CounterBrokerAlarms]; got != 1 {
		t.Fatalf("broker.alarms = %v after the alarm was raised", got)
	}
	// The broker blocks a connection when it next publishes.
	_ = ch.PublishWithContext(t.Context(), "", "nowhere", false, false, amqp.Publishing{Body: []byte("x")})
	select {
	case b := <-blocked:
		if !b.Active {
			t.Fatalf("first blocking notice is %+v", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publisher never blocked under a memory alarm")
	}
	healed = true
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := env.Evidence.Counters()[CounterConnectionsBlocked]; got < 1 {
		t.Errorf("connections.blocked = %v with a blocked publisher", got)
	}
	select {
	case b := <-blocked:
		if b.Active {
			t.Fatalf("after heal: %+v", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publisher never unblocked after the heal")
	}
}

func TestDiskAlarmIsRaisedAndCleared(t *testing.T) {
	env, _ := brokerEnv(t)
	h, err := (&Broker{Env: env, Op: OpDiskAlarm}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := env.Evidence.Counters()[CounterBrokerAlarms]
	herr := h.Heal(t.Context())
	if got != 1 {
		t.Errorf("broker.alarms = %v", got)
	}
	if herr != nil {
		t.Fatal(herr)
	}
	// The heal waited for the alarm to clear in the broker's alarm list; the
	// node statistics follow with their next emission.
	labtest.Eventually(t, 30*time.Second, func() error {
		nodes, err := env.Management.Nodes(t.Context())
		if err != nil || len(nodes) == 0 || nodes[0].DiskFreeAlarm {
			return fmt.Errorf("after heal: %+v %v", nodes, err)
		}
		return nil
	})
}

func TestBrokerStopRefusesClientsUntilStarted(t *testing.T) {
	env, url := brokerEnv(t)
	c := dial(t, url, "sla-1-consumer")
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	h, err := (&Broker{Env: env, Op: OpStop}).Inject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		t.Error("a client stayed connected to a stopped broker application")
	}
	if conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(time.Second)}); err == nil {
		conn.Close()
		t.Error("dial succeeded while the application was stopped")
	}
	if err := h.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 30*time.Second, func() error {
		conn, err := amqp.Dial(url)
		if err != nil {
			return err
		}
		return conn.Close()
	})
	// start is the instant counterpart.
	if h, err := (&Broker{Env: env, Op: OpStart}).Inject(t.Context()); err != nil || h != Nothing {
		t.Fatalf("start on a running app: %v", err)
	}
}

func TestCloseConnectionsOfOneService(t *testing.T) {
	env, url := brokerEnv(t)
	alpha := dial(t, url, "alpha-1-consumer")
	beta := dial(t, url, "beta-1-consumer")
	alphaClosed := alpha.NotifyClose(make(chan *amqp.Error, 1))
	labtest.Eventually(t, 10*time.Second, func() error {
		conns, err := env.Management.Connections(t.Context())
		if err != nil {
			return err
		}
		seen := 0
		for _, c := range conns {
			if c.ClientName() == "alpha-1-consumer" || c.ClientName() == "beta-1-consumer" {
				seen++
			}
		}
		if seen != 2 {
			return fmt.Errorf("management API lists %d of the 2 connections", seen)
		}
		return nil
	})
	listed, err := NodeConnections(t.Context(), env.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range listed {
		names[c.ClientName()] = c.ConnectedAtMs > 0 && c.Name != ""
	}
	if !names["alpha-1-consumer"] || !names["beta-1-consumer"] {
		t.Errorf("rabbitmqctl listed %v", listed)
	}
	h, err := (&Broker{Env: env, Op: OpCloseConnections, Service: "alpha"}).Inject(t.Context())
	if err != nil || h != Nothing {
		t.Fatalf("close-connections: %v", err)
	}
	select {
	case e := <-alphaClosed:
		if e == nil || e.Code != amqp.ConnectionForced {
			t.Errorf("alpha closed with %v, want 320 CONNECTION_FORCED", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alpha's connection was not closed")
	}
	if beta.IsClosed() {
		t.Error("beta's connection was closed too")
	}
	if got := env.Evidence.Counters()[CounterConnectionsClosed]; got != 1 {
		t.Errorf("broker.connections-closed = %v", got)
	}
}
