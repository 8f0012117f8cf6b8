package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrNoDocker reports that the container provider found no Docker engine.
var ErrNoDocker = errors.New("no Docker engine")

// ErrUnreachable reports that an external broker did not accept an AMQP connection.
var ErrUnreachable = errors.New("broker not reachable")

// Node is one broker node's endpoints.
type Node struct {
	// Name is the node name (e.g. "tflab123-1@localhost"), or the provider's
	// name for brokers whose nodes the lab does not know.
	Name string
	// AMQPURL includes credentials and vhost.
	AMQPURL string
	// ManagementURL is the management HTTP base URL ("" if unknown).
	ManagementURL string
	// PID is the node's local process id (0 when it is not our process).
	PID int
	// LogDir holds the node's own logs when it runs locally ("" otherwise).
	LogDir string
}

// AMQPAddr is the host:port of the node's AMQP listener.
func (n Node) AMQPAddr() (string, error) { return HostPort(n.AMQPURL) }

// Broker is a running (or borrowed) broker.
type Broker interface {
	// Nodes lists the nodes; the first is the primary. It never changes
	// after Start and is safe for concurrent use.
	Nodes() []Node
	// Stop releases the broker: stops our nodes or container, leaves an
	// external broker alone. It is safe to call more than once.
	Stop(ctx context.Context) error
}

// Provider starts or attaches to a broker.
type Provider interface {
	// Name is "private", "external" or "container".
	Name() string
	// Start returns once the broker accepts AMQP connections. dir is a
	// directory the provider may use for data and logs. ctx bounds the
	// start only, not the broker's lifetime.
	Start(ctx context.Context, dir string) (Broker, error)
}

// HostPort extracts host:port from an AMQP URL, defaulting the port.
func HostPort(amqpURL string) (string, error) {
	u, err := amqp.ParseURI(amqpURL)
	if err != nil {
		return "", fmt.Errorf("amqp url: %w", err)
	}
	return fmt.Sprintf("%s:%d", u.Host, u.Port), nil
}

// WithHost returns amqpURL with its host:port replaced by hostPort (keeping
// credentials and vhost), e.g. to point a service at its proxy.
func WithHost(amqpURL, hostPort string) (string, error) {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return "", fmt.Errorf("amqp url: %w", err)
	}
	u.Host = hostPort
	return u.String(), nil
}

// Ping opens and closes one AMQP connection within timeout.
func Ping(ctx context.Context, amqpURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(timeout)})
		if err == nil {
			err = conn.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
