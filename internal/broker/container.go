package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/modules/rabbitmq"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/ticketflow-lab/tflab/internal/images"
)

// DefaultImage is the container provider's RabbitMQ image, the one pinned
// in internal/images/versions.txt (docker-compose.yml runs the same).
var DefaultImage = images.Image(images.RabbitMQ)

// Container runs RabbitMQ in containers through testcontainers-go: one
// node, or Nodes nodes on a network of their own joined into a cluster. It
// is used only where a Docker engine answers.
type Container struct {
	// Image defaults to DefaultImage.
	Image string
	// Nodes is the number of clustered nodes (0 or 1: a single node).
	Nodes int
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

// Validate reports what is wrong with the provider's settings.
func (c Container) Validate() error {
	if c.Nodes < 0 || c.Nodes > 9 {
		return fmt.Errorf("container broker: %d nodes, want 1 to 9", c.Nodes)
	}
	return nil
}

// containerHost is node i's host name (1-based); RabbitMQ names the node
// rabbit@<host name>.
func containerHost(i int) string { return "rabbitmq-" + strconv.Itoa(i) }

// Start implements Provider. dir is unused. For a cluster it starts every
// node on one Docker network with a shared Erlang cookie, then joins nodes
// 2..N to node 1 with rabbitmqctl.
func (c Container) Start(ctx context.Context, _ string) (Broker, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
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
	b := &containerBroker{}
	n := max(c.Nodes, 1)
	opts := []testcontainers.ContainerCustomizer{testcontainers.WithLogger(slogPrintf{log})}
	if n > 1 {
		nw, err := network.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("RabbitMQ cluster network: %w", err)
		}
		b.nw = nw
		cookie := "tflab-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		opts = append(opts, testcontainers.WithEnv(map[string]string{"RABBITMQ_ERLANG_COOKIE": cookie}))
	}
	for i := 1; i <= n; i++ {
		nodeOpts := opts
		if n > 1 {
			host := containerHost(i)
			nodeOpts = append(nodeOpts[:len(nodeOpts):len(nodeOpts)],
				network.WithNetwork([]string{host}, b.nw),
				testcontainers.WithConfigModifier(func(cfg *container.Config) { cfg.Hostname = host }))
		}
		ctr, err := rabbitmq.Run(ctx, img, nodeOpts...)
		if ctr != nil {
			b.ctrs = append(b.ctrs, ctr)
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("start RabbitMQ container %s (node %d of %d): %w", img, i, n, err), b.Stop(context.WithoutCancel(ctx)))
		}
		node, err := containerNode(ctx, ctr)
		if err != nil {
			return nil, errors.Join(err, b.Stop(context.WithoutCancel(ctx)))
		}
		if n > 1 {
			node.Name = "rabbit@" + containerHost(i)
		}
		b.nodes = append(b.nodes, node)
	}
	for i := 2; i <= n; i++ {
		ctr := b.ctrs[i-1]
		for _, cmd := range [][]string{{"rabbitmqctl", "stop_app"}, {"rabbitmqctl", "join_cluster", "rabbit@" + containerHost(1)}, {"rabbitmqctl", "start_app"}} {
			if err := execOK(ctx, ctr, cmd); err != nil {
				return nil, errors.Join(fmt.Errorf("join node %d to the cluster: %w", i, err), b.Stop(context.WithoutCancel(ctx)))
			}
		}
	}
	return b, nil
}

// containerNode reads a started container's endpoints.
func containerNode(ctx context.Context, ctr *rabbitmq.RabbitMQContainer) (Node, error) {
	amqpURL, err := ctr.AmqpURL(ctx)
	if err != nil {
		return Node{}, fmt.Errorf("RabbitMQ container endpoints: %w", err)
	}
	mgmt, err := ctr.HttpURL(ctx)
	if err != nil {
		return Node{}, fmt.Errorf("RabbitMQ container endpoints: %w", err)
	}
	return Node{Name: "container " + ctr.GetContainerID(), AMQPURL: amqpURL + "/", ManagementURL: mgmt}, nil
}

// execOK runs cmd in ctr and fails unless it exits 0.
func execOK(ctx context.Context, ctr *rabbitmq.RabbitMQContainer, cmd []string) error {
	code, out, err := ctr.Exec(ctx, cmd)
	if err != nil {
		return fmt.Errorf("%v: %w", cmd, err)
	}
	if code != 0 {
		msg, _ := io.ReadAll(io.LimitReader(out, 2048))
		return fmt.Errorf("%v: exit %d: %s", cmd, code, msg)
	}
	return nil
}

type containerBroker struct {
	ctrs    []*rabbitmq.RabbitMQContainer
	nw      *testcontainers.DockerNetwork
	nodes   []Node
	once    sync.Once
	stopErr error
}

func (b *containerBroker) Nodes() []Node { return b.nodes }

// Stop terminates every container, then the cluster's network.
func (b *containerBroker) Stop(ctx context.Context) error {
	b.once.Do(func() {
		var errs []error
		for _, ctr := range b.ctrs {
			errs = append(errs, ctr.Terminate(ctx))
		}
		if b.nw != nil {
			errs = append(errs, b.nw.Remove(ctx))
		}
		b.stopErr = errors.Join(errs...)
	})
	return b.stopErr
}

// slogPrintf adapts slog to testcontainers' Printf logger.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "component", "testcontainers")
}
