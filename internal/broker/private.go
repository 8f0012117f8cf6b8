package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

// Private starts private nodes from the local rabbitmq-server installation.
type Private struct {
	// NodeName is the node name prefix, unique on the machine (e.g. "tflab<pid>").
	NodeName string
	// Nodes is the cluster size; 0 or 1 starts a single node.
	Nodes int
	// AMQPPort and ManagementPort fix a single node's ports (0 = free
	// ports); cluster nodes always get free ports.
	AMQPPort, ManagementPort int
	// Install is the located installation (see rabbitnode.Locate); zero
	// searches the default folders.
	Install rabbitnode.Install
	// StartTimeout bounds each node's boot (rabbitnode.DefaultStartTimeout for a single node,
	// rabbitnode.ClusterStartTimeout for a cluster's).
	StartTimeout time.Duration
	// Disposable nodes are killed on Stop instead of stopped gracefully:
	// for scenario runs, whose broker data nobody reuses.
	Disposable bool
	// QueueType is the lab's queue type (QueueTypes; "" is classic). Start
	// sets the mirroring policy on the default vhost for QueueMirrored.
	QueueType string
	// PartitionHandling is every node's cluster_partition_handling
	// (rabbitnode.PartitionHandlings; "" keeps RabbitMQ's default, ignore).
	PartitionHandling string
	// Log receives lifecycle events; nil discards.
	Log *slog.Logger
}

var _ Provider = Private{}

// Name implements Provider.
func (Private) Name() string { return "private" }

// Validate reports what is wrong with the provider's settings.
func (p Private) Validate() error {
	var errs []error
	if p.NodeName == "" {
		errs = append(errs, errors.New("private broker: node name prefix must be set"))
	}
	if p.Nodes < 0 || p.Nodes > 9 {
		errs = append(errs, fmt.Errorf("private broker: %d nodes: want 1 to 9", p.Nodes))
	}
	if p.Nodes > 1 && (p.AMQPPort != 0 || p.ManagementPort != 0) {
		errs = append(errs, errors.New("private broker: fixed ports apply to a single node only"))
	}
	if err := ValidQueueType(p.QueueType); err != nil {
		errs = append(errs, fmt.Errorf("private broker: %w", err))
	}
	if err := rabbitnode.ValidPartitionHandling(p.PartitionHandling); err != nil {
		errs = append(errs, fmt.Errorf("private broker: %w", err))
	}
	return errors.Join(errs...)
}

// Start implements Provider: one node under dir/<name>, or a cluster under dir.
func (p Private) Start(ctx context.Context, dir string) (Broker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	// The node runs in dir with HOME, data, log and config paths under it:
	// a relative dir would resolve twice (once from here, once from dir).
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("private broker: dir %q is relative: the node needs an absolute path", dir)
	}
	if p.Install.BinDir == "" {
		in, err := rabbitnode.Locate("")
		if err != nil {
			return nil, err
		}
		p.Install = in
	}
	cfg := rabbitnode.Config{
		Name:           p.NodeName,
		Dir:            dir,
		Management:     true,
		Install:        p.Install,
		StartTimeout:   p.StartTimeout,
		AMQPPort:       p.AMQPPort,
		ManagementPort: p.ManagementPort,
		Disposable:     p.Disposable,
		Log:            p.Log,

		PartitionHandling: p.PartitionHandling,
	}
	if p.Nodes <= 1 {
		n, err := rabbitnode.Start(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("start private RabbitMQ node: %w", err)
		}
		return p.configure(ctx, &PrivateBroker{nodes: []*rabbitnode.Node{n}})
	}
	c, err := rabbitnode.StartCluster(ctx, cfg, p.Nodes)
	if err != nil {
		return nil, fmt.Errorf("start private RabbitMQ cluster of %d: %w", p.Nodes, err)
	}
	return p.configure(ctx, &PrivateBroker{nodes: c.Nodes, cluster: c})
}

// configure applies the queue type's broker side (the mirroring policy) to
// a started broker, stopping it on failure.
func (p Private) configure(ctx context.Context, b *PrivateBroker) (Broker, error) {
	if p.QueueType != QueueMirrored {
		return b, nil
	}
	if err := MirrorPolicy(ctx, b.nodes[0], "/"); err != nil {
		return nil, errors.Join(err, b.Stop(context.WithoutCancel(ctx)))
	}
	return b, nil
}

// PrivateBroker is a running private node or cluster.
type PrivateBroker struct {
	nodes   []*rabbitnode.Node
	cluster *rabbitnode.Cluster
	once    sync.Once
	stopErr error
}

var _ Broker = (*PrivateBroker)(nil)

// RabbitNodes exposes the nodes for broker faults (rabbitmqctl, kill).
func (b *PrivateBroker) RabbitNodes() []*rabbitnode.Node { return b.nodes }

// Nodes implements Broker.
func (b *PrivateBroker) Nodes() []Node {
	out := make([]Node, len(b.nodes))
	for i, n := range b.nodes {
		out[i] = Node{Name: n.Name(), AMQPURL: n.AMQPURL(), ManagementURL: n.ManagementURL(), PID: n.PID(), LogDir: n.LogDir()}
	}
	return out
}

// Stop implements Broker: every node is stopped (killed after its timeout).
func (b *PrivateBroker) Stop(ctx context.Context) error {
	b.once.Do(func() {
		if b.cluster != nil {
			b.stopErr = b.cluster.Stop(ctx)
			return
		}
		b.stopErr = b.nodes[0].Stop(ctx)
	})
	return b.stopErr
}
