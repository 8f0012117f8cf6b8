package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/broker"
)

// lastConnectionsTimeout bounds the last read of the broker's connections
// at the end of a run.
const lastConnectionsTimeout = 30 * time.Second

// lastConnectionsCall bounds one management API request of that read: a
// node that autoheal is restarting may take the request and not answer.
const lastConnectionsCall = 5 * time.Second

// markerPrefix starts the connection_name of a marker connection, one the
// runner opens to a node to see when the management API lists what the node
// held. The watcher never counts it.
const markerPrefix = RunnerConnection + " marker "

// dialMarker opens a marker connection with the given connection_name.
func dialMarker(ctx context.Context, amqpURL, name string) (io.Closer, error) {
	timeout := lastConnectionsCall
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl), 100*time.Millisecond))
	}
	return amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(timeout),
		Properties: amqp.Table{"connection_name": name}})
}

// lastConnections reads the broker's connections once more at the end of a
// run, from the management API, and hands them to the watcher: the ones
// that opened since its last poll would otherwise go uncounted. It opens a
// marker connection to every node and polls until each marker is listed.
// The API lists a node's connections as of that node's last statistics
// collection, so a listed marker shows that every connection the node held
// when the marker opened is listed too. Each poll asks the management URLs
// in turn (each request bounded by lastConnectionsCall) until one answers,
// every `every` until ctx ends. The error names the nodes whose marker could
// not be opened or was not listed, and why; nil when every node was read.
//
// It replaces `rabbitmqctl list_connections`, which asks every connection
// process of the cluster for its details without a time limit and never
// returned on a cluster after autoheal (see scenarios/README.md).
func lastConnections(ctx context.Context, w *watcher, nodes []broker.Node, apis []*anomalies.Management, every time.Duration,
	dial func(ctx context.Context, amqpURL, name string) (io.Closer, error)) error {
	if len(apis) == 0 {
		return errors.New("the broker has no management API")
	}
	var errs []error
	pending := map[string]string{} // marker's connection_name → node
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i, n := range nodes {
		name := fmt.Sprintf("%s%d-%s", markerPrefix, i+1, nonce)
		m, err := dial(ctx, n.AMQPURL, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: marker connection: %w", n.Name, err))
			continue
		}
		defer m.Close()
		pending[name] = n.Name
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last error
	for len(pending) > 0 {
		var conns []anomalies.Connection
		conns, last = listFromAny(ctx, apis)
		if last == nil {
			w.observe(inVHost(conns, apis[0]))
			for _, c := range conns {
				delete(pending, c.ClientName())
			}
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			for _, node := range pending {
				err := fmt.Errorf("node %s: marker connection not listed: %w", node, ctx.Err())
				if last != nil {
					err = fmt.Errorf("node %s: marker connection not listed: %w (last read: %w)", node, ctx.Err(), last)
				}
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		case <-tick.C:
		}
	}
	return errors.Join(errs...)
}

// listFromAny lists the connections from the first management API that
// answers.
func listFromAny(ctx context.Context, apis []*anomalies.Management) ([]anomalies.Connection, error) {
	var errs []error
	for _, m := range apis {
		cctx, cancel := context.WithTimeout(ctx, lastConnectionsCall)
		conns, err := m.Connections(cctx)
		cancel()
		if err == nil {
			return conns, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.URL, err))
	}
	return nil, errors.Join(errs...)
}

// nodeAPIs is the lab's management API at every node's URL (the primary's
// first), with the lab's credentials and vhost.
func nodeAPIs(m *anomalies.Management, nodes []broker.Node) []*anomalies.Management {
	if m == nil {
		return nil
	}
	out := []*anomalies.Management{m}
	for _, n := range nodes {
		if n.ManagementURL == "" || strings.TrimRight(n.ManagementURL, "/") == strings.TrimRight(m.URL, "/") {
			continue
		}
		c := *m
		c.URL = n.ManagementURL
		out = append(out, &c)
	}
	return out
}
