package anomalies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Broker operations.
const (
	OpStop             = "stop"              // rabbitmqctl stop_app; Heal start_app
	OpStart            = "start"             // rabbitmqctl start_app (instant)
	OpMemoryAlarm      = "memory-alarm"      // set_vm_memory_high_watermark 0.0000001; Heal 0.4
	OpDiskAlarm        = "disk-alarm"        // set_disk_free_limit 1000GB; Heal 50MB
	OpCloseConnections = "close-connections" // DELETE /api/connections/{name} (instant)
)

// Values the alarms are raised with and restored to (RabbitMQ's defaults for
// a private node: 0.4 of the memory, a 50 MB disk limit).
const (
	alarmWatermark   = "0.0000001"
	normalWatermark  = "0.4"
	alarmDiskLimit   = "1000GB"
	normalDiskLimit  = "50MB"
	alarmObserveWait = 10 * time.Second
	alarmPollEvery   = 100 * time.Millisecond
)

// Broker acts on a RabbitMQ node through rabbitmqctl and the management API:
//
//	stop               stop_app (the VM stays up); Heal start_app
//	start              start_app (instant)
//	memory-alarm       a memory high watermark no node can stay under; Heal restores 0.4
//	disk-alarm         a disk free limit no disk meets; Heal restores 50MB
//	close-connections  closes the clients' connections (all, or one service's)
//
// An alarm counts in broker.alarms only once the management API shows it
// raised; Heal counts the connections the broker holds blocked
// (connections.blocked), clears the alarm and waits until it shows cleared. Closed connections count in
// broker.connections-closed.
type Broker struct {
	Env *Env
	Op  string
	// Node is the node's name ("" = the first node).
	Node string
	// Service limits close-connections to the connections the service named
	// ("<service>-…"); "" closes every client connection.
	Service string
}

var _ Anomaly = (*Broker)(nil)

// Name is "<op>[-<service>]".
func (b *Broker) Name() string {
	if b.Service != "" {
		return b.Op + "-" + b.Service
	}
	return b.Op
}

// Inject performs the operation.
func (b *Broker) Inject(ctx context.Context) (Healer, error) {
	env := b.Env
	if b.Op == OpCloseConnections {
		return b.closeConnections(ctx)
	}
	node, err := b.node()
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", b.Name(), err)
	}
	env.log().Info("Injecting anomaly", "anomaly", b.Name(), "node", node.Name())
	ctl := func(ctx context.Context, args ...string) error {
		_, err := node.Ctl(ctx, args...)
		return err
	}
	healed := func(err error) error {
		env.log().Info("Anomaly healed", "anomaly", b.Name(), "err", err)
		if err != nil {
			return fmt.Errorf("heal %s: %w", b.Name(), err)
		}
		return nil
	}
	switch b.Op {
	case OpStop:
		if err := ctl(ctx, "stop_app"); err != nil {
			// stop_app may have stopped the application before failing.
			return nil, errors.Join(fmt.Errorf("inject %s: %w", b.Name(), err), healNow(ctx, HealFunc(func(ctx context.Context) error {
				return ctl(ctx, "start_app")
			})))
		}
		return HealFunc(func(ctx context.Context) error { return healed(ctl(ctx, "start_app")) }), nil
	case OpStart:
		if err := ctl(ctx, "start_app"); err != nil {
			return nil, fmt.Errorf("inject %s: %w", b.Name(), err)
		}
		return Nothing, nil
	case OpMemoryAlarm, OpDiskAlarm:
		raise, clear := []string{"set_vm_memory_high_watermark", alarmWatermark}, []string{"set_vm_memory_high_watermark", normalWatermark}
		if b.Op == OpDiskAlarm {
			raise, clear = []string{"set_disk_free_limit", alarmDiskLimit}, []string{"set_disk_free_limit", normalDiskLimit}
		}
		heal := HealFunc(func(ctx context.Context) error {
			b.countBlocked(ctx, node)
			if err := ctl(ctx, clear...); err != nil {
				return healed(err)
			}
			return healed(b.awaitAlarm(ctx, node.Name(), false))
		})
		if err := ctl(ctx, raise...); err != nil {
			return nil, errors.Join(fmt.Errorf("inject %s: %w", b.Name(), err), healNow(ctx, heal))
		}
		if env.Management != nil {
			wctx, cancel := context.WithTimeout(ctx, alarmObserveWait)
			err := b.awaitAlarm(wctx, node.Name(), true)
			cancel()
			if err == nil {
				env.Evidence.Add(CounterBrokerAlarms, 1)
			} else {
				env.Evidence.Add(CounterBrokerAlarms, 0)
				env.log().Warn("Alarm not seen raised", "anomaly", b.Name(), "err", err)
			}
		}
		return heal, nil
	}
	return nil, fmt.Errorf("inject %s: unknown broker operation %q", b.Name(), b.Op)
}

// countBlocked records in connections.blocked how many client connections
// the broker holds blocked (they published under the alarm). rabbitmqctl asks
// the connection processes themselves; the management API would show the
// state only with its next statistics emission.
func (b *Broker) countBlocked(ctx context.Context, node Node) {
	n, err := b.blocked(ctx, node)
	if err != nil {
		b.Env.log().Warn("Cannot list blocked connections", "anomaly", b.Name(), "err", err)
		return
	}
	b.Env.Evidence.Add(CounterConnectionsBlocked, float64(n))
}

// blocked counts the connections the broker blocks, with rabbitmqctl (the
// management API listed none blocked for 2.5 s after a publisher had been
// told it was blocked: it shows the state of the last statistics emission). rabbitmqctl boots an Erlang VM, which
// can take tens of seconds on a loaded machine, so it gets at most half of
// what is left of ctx: the heal that follows keeps time to clear the alarm.
func (b *Broker) blocked(ctx context.Context, node Node) (int, error) {
	n := 0
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
		defer cancel()
	}
	out, err := node.Ctl(ctx, "-q", "--no-table-headers", "list_connections", "state")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == "blocked" {
			n++
		}
	}
	return n, nil
}

// BrokerHealTimeout bounds a broker fault's heal: each rabbitmqctl call
// boots an Erlang VM, and clearing an alarm took 42 s on a 2-core machine
// at a load of 30 or more.
const BrokerHealTimeout = 2 * time.Minute

// HealTimeout implements SlowHealer.
func (b *Broker) HealTimeout() time.Duration { return BrokerHealTimeout }

var _ SlowHealer = (*Broker)(nil)

// node picks the targeted node.
func (b *Broker) node() (Node, error) {
	nodes := b.Env.Nodes
	if len(nodes) == 0 {
		return nil, errors.New("the broker's nodes are not the lab's own (an external broker?): node faults need a private node")
	}
	if b.Node == "" {
		return nodes[0], nil
	}
	var names []string
	for _, n := range nodes {
		short, _, _ := strings.Cut(n.Name(), "@")
		if n.Name() == b.Node || short == b.Node {
			return n, nil
		}
		names = append(names, n.Name())
	}
	return nil, fmt.Errorf("no broker node %q (have %s)", b.Node, strings.Join(names, ", "))
}

// awaitAlarm polls the management API until the node's alarm of b.Op is in
// the wanted state or ctx ends. Without a management API it returns nil.
func (b *Broker) awaitAlarm(ctx context.Context, node string, raised bool) error {
	m := b.Env.Management
	if m == nil {
		return nil
	}
	resource := "memory"
	if b.Op == OpDiskAlarm {
		resource = "disk space"
	}
	tick := time.NewTicker(alarmPollEvery)
	defer tick.Stop()
	var last error
	for {
		alarms, err := m.Alarms(ctx)
		if err == nil {
			on := false
			for _, a := range alarms {
				on = on || (a.Node == node && a.Resource == resource)
			}
			if on == raised {
				return nil
			}
			last = fmt.Errorf("%s alarm on %s: in effect %v", resource, node, on)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the %s alarm to be %s: %w (last: %v)", resource, map[bool]string{true: "raised", false: "cleared"}[raised], ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// closeConnections closes the matching client connections through the
// management API.
func (b *Broker) closeConnections(ctx context.Context) (Healer, error) {
	env := b.Env
	if env.Management == nil {
		return nil, fmt.Errorf("inject %s: the broker has no management API", b.Name())
	}
	// The management API lists connections as of its last statistics
	// emission, which lags on a busy broker: when it shows none of the
	// service's connections, look again until one shows or the wait ends.
	until := time.Now().Add(closeListWait)
	closed := 0
	var errs []error
	for {
		conns, err := env.Management.Connections(ctx)
		if err != nil {
			return nil, fmt.Errorf("inject %s: %w", b.Name(), err)
		}
		env.log().Info("Injecting anomaly", "anomaly", b.Name(), "connections", len(conns))
		for _, c := range conns {
			if b.Service != "" && !strings.HasPrefix(c.ClientName(), b.Service+"-") {
				continue
			}
			err := env.Management.CloseConnection(ctx, c.Name, "tflab: "+b.Name())
			switch {
			case err == nil:
				closed++
			case isStatus(err, 404):
				// it closed by itself meanwhile
			default:
				errs = append(errs, err)
			}
		}
		if closed > 0 || len(errs) > 0 || time.Now().After(until) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("inject %s: %w", b.Name(), ctx.Err())
		case <-time.After(closeListEvery):
		}
	}
	env.Evidence.Add(CounterConnectionsClosed, float64(closed))
	if closed == 0 && len(errs) == 0 {
		env.log().Warn("No connection to close", "anomaly", b.Name())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inject %s: closed %d: %w", b.Name(), closed, err)
	}
	return Nothing, nil
}

// How long close-connections looks for a connection to close, and how
// often.
const (
	closeListWait  = 10 * time.Second
	closeListEvery = 250 * time.Millisecond
)
