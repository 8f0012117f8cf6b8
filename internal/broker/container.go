package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/modules/rabbitmq"
)

// DefaultImage is the container provider's RabbitMQ image.
const DefaultImage = "rabbitmq:3.13-management-alpine"

// Container runs RabbitMQ in a container through testcontainers-go. It is
// used only where a Docker engine answers.
type Container struct {
	// Image defaults to DefaultImage.
	Image string
	// ProbeTimeout bounds the Docker engine check (default 5 s).
	ProbeTimeout time.Duration
	// Log receives testcontainers' messages at debug level; nil discards.
	Log *slog.Logger
}

var _ Provider = Container{}

// Name implements Provider.
func (Container) Name() string { return "container" }

// DockerAvailable returns nil when a Docker engine answers, or an error
// wrapping ErrNoDocker ("no Docker engine: …") that says why not.
func DockerAvailable(ctx context.Context, timeout time.Duration) (err error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			// testcontainers panics in some setups without an engine.
			if r := recover(); r != nil {
				done <- fmt.Errorf("%v", r)
			}
		}()
		p, err := testcontainers.ProviderDocker.GetProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
		if err != nil {
			done <- err
			return
		}
		defer p.Close()
		done <- p.Health(ctx)
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%w: %v (use the private node, the default, or --amqp-url)", ErrNoDocker, err)
	}
	return nil
}

// Start implements Provider. dir is unused.
func (c Container) Start(ctx context.Context, _ string) (Broker, error) {
	if err := DockerAvailable(ctx, c.ProbeTimeout); err != nil {
		return nil, err
	}
	img := c.Image
	if img == "" {
		img = DefaultImage
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctr, err := rabbitmq.Run(ctx, img, testcontainers.WithLogger(slogPrintf{log}))
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
		return nil, fmt.Errorf("start RabbitMQ container %s: %w", img, err)
	}
	amqpURL, err := ctr.AmqpURL(ctx)
	if err == nil {
		var mgmt string
		if mgmt, err = ctr.HttpURL(ctx); err == nil {
			return &containerBroker{ctr: ctr, node: Node{Name: "container " + ctr.GetContainerID(), AMQPURL: amqpURL + "/", ManagementURL: mgmt}}, nil
		}
	}
	_ = testcontainers.TerminateContainer(ctr)
	return nil, fmt.Errorf("RabbitMQ container endpoints: %w", err)
}

type containerBroker struct {
	ctr     *rabbitmq.RabbitMQContainer
	node    Node
	once    sync.Once
	stopErr error
}

func (b *containerBroker) Nodes() []Node { return []Node{b.node} }

func (b *containerBroker) Stop(ctx context.Context) error {
	b.once.Do(func() { b.stopErr = b.ctr.Terminate(ctx) })
	return b.stopErr
}

// slogPrintf adapts slog to testcontainers' Printf logger.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "component", "testcontainers")
}
