package broker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/broker"
)

func TestHostPortAndWithHost(t *testing.T) {
	hp, err := broker.HostPort("amqp://guest:guest@127.0.0.1:5673/vh")
	if err != nil || hp != "127.0.0.1:5673" {
		t.Fatalf("HostPort = %q, %v", hp, err)
	}
	hp, err = broker.HostPort("amqp://localhost")
	if err != nil || hp != "localhost:5672" {
		t.Fatalf("HostPort default port = %q, %v", hp, err)
	}
	if _, err := broker.HostPort("http://x"); err == nil {
		t.Fatal("http URL accepted")
	}
	u, err := broker.WithHost("amqp://guest:guest@127.0.0.1:5673/vh", "127.0.0.1:21201")
	if err != nil || u != "amqp://guest:guest@127.0.0.1:21201/vh" {
		t.Fatalf("WithHost = %q, %v", u, err)
	}
}

func TestPrivateValidate(t *testing.T) {
	for name, p := range map[string]broker.Private{
		"no name":            {},
		"too many nodes":     {NodeName: "x", Nodes: 10},
		"fixed port cluster": {NodeName: "x", Nodes: 2, AMQPPort: 5672},
		"queue type":         {NodeName: "x", Nodes: 3, QueueType: "lazy"},
		"partition handling": {NodeName: "x", Nodes: 3, PartitionHandling: "pause-minority"},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (broker.Private{NodeName: "x", Nodes: 3, QueueType: broker.QueueQuorum, PartitionHandling: "autoheal"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestExternalUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = broker.External{AMQPURL: "amqp://guest:secret@" + addr + "/", DialTimeout: 2 * time.Second}.Start(t.Context(), "")
	if !errors.Is(err, broker.ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error shows the password: %v", err)
	}
}

// TestContainerWithoutDockerSaysSo asserts the no-Docker error where no
// engine answers; where one does, the container test in the integration
// suite covers the provider instead.
func TestContainerWithoutDockerSaysSo(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	probe := broker.DockerAvailable(ctx, 5*time.Second)
	if probe == nil {
		t.Skip("a Docker engine answers here; the no-Docker path cannot be observed")
	}
	if !errors.Is(probe, broker.ErrNoDocker) || !strings.HasPrefix(probe.Error(), "no Docker engine: ") {
		t.Fatalf("DockerAvailable: want 'no Docker engine: …' wrapping ErrNoDocker, got %v", probe)
	}
	start := time.Now()
	_, err := broker.Container{ProbeTimeout: 5 * time.Second}.Start(ctx, t.TempDir())
	if !errors.Is(err, broker.ErrNoDocker) || !strings.HasPrefix(err.Error(), "no Docker engine: ") {
		t.Fatalf("Container.Start: want the no-Docker error, got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the no-Docker answer took %s", d)
	}
}

func TestPrivateRefusesARelativeDir(t *testing.T) {
	_, err := broker.Private{NodeName: "x"}.Start(t.Context(), "runs/20261204-120000-suite-broker")
	if err == nil || !strings.Contains(err.Error(), "relative") {
		t.Fatalf("relative node dir: want an error saying so, got %v", err)
	}
}
