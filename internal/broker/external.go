package broker

import (
	"context"
	"fmt"
	"time"
)

// External borrows a broker that runs elsewhere (--amqp-url).
type External struct {
	AMQPURL string
	// ManagementURL is optional.
	ManagementURL string
	// DialTimeout bounds the reachability check (default 5 s).
	DialTimeout time.Duration
}

var _ Provider = External{}

// Name implements Provider.
func (External) Name() string { return "external" }

// Start implements Provider: it checks that the broker accepts an AMQP
// connection and wraps ErrUnreachable if not. dir is unused.
func (e External) Start(ctx context.Context, _ string) (Broker, error) {
	if _, err := HostPort(e.AMQPURL); err != nil {
		return nil, fmt.Errorf("external broker: %w", err)
	}
	d := e.DialTimeout
	if d <= 0 {
		d = 5 * time.Second
	}
	if err := Ping(ctx, e.AMQPURL, d); err != nil {
		return nil, fmt.Errorf("external broker %s: %w: %v", redact(e.AMQPURL), ErrUnreachable, err)
	}
	return externalBroker{node: Node{Name: "external", AMQPURL: e.AMQPURL, ManagementURL: e.ManagementURL}}, nil
}

type externalBroker struct{ node Node }

func (b externalBroker) Nodes() []Node { return []Node{b.node} }

// Stop leaves an external broker alone.
func (externalBroker) Stop(context.Context) error { return nil }
