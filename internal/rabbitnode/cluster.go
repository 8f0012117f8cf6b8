package rabbitnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// Cluster is a set of private nodes joined into one RabbitMQ cluster.
type Cluster struct {
	Nodes []*Node
}

// StartCluster boots size nodes named <base.Name>-1 … -size under
// base.Dir/<name>, sharing one Erlang cookie, and joins nodes 2..size to node 1.
// Ports in base are ignored (each node gets free ones). On error every node
// already started is killed.
func StartCluster(ctx context.Context, base Config, size int) (*Cluster, error) {
	if size < 1 {
		return nil, fmt.Errorf("cluster size %d: must be at least 1", size)
	}
	if base.Cookie == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		base.Cookie = "TFLAB" + hex.EncodeToString(b)
	}
	c := &Cluster{}
	fail := func(err error) (*Cluster, error) {
		for _, n := range c.Nodes {
			_ = n.Kill()
		}
		return nil, err
	}
	// Boot every node at once (a boot is ~4.5 s, mostly waiting), then join.
	nodes := make([]*Node, size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for i := range size {
		cfg := base
		cfg.Name = fmt.Sprintf("%s-%d", base.Name, i+1)
		cfg.Dir = filepath.Join(base.Dir, cfg.Name)
		cfg.AMQPPort, cfg.DistPort, cfg.ManagementPort = 0, 0, 0
		wg.Go(func() {
			nodes[i], errs[i] = Start(ctx, cfg)
		})
	}
	wg.Wait()
	for i, n := range nodes {
		if n != nil {
			c.Nodes = append(c.Nodes, n)
		}
		if errs[i] != nil {
			return fail(fmt.Errorf("start cluster node %d: %w", i+1, errs[i]))
		}
	}
	first := c.Nodes[0]
	for _, n := range c.Nodes[1:] {
		for _, args := range [][]string{{"stop_app"}, {"join_cluster", first.Name()}, {"start_app"}} {
			if _, err := n.Ctl(ctx, args...); err != nil {
				return fail(fmt.Errorf("join %s to %s: %w", n.Name(), first.Name(), err))
			}
		}
	}
	return c, nil
}

// Stop stops every node, last first, and returns the joined errors.
func (c *Cluster) Stop(ctx context.Context) error {
	var errs []error
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if err := c.Nodes[i].Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
