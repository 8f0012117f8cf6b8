package run

import (
	"errors"
	"fmt"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// ErrUnsupported reports an action the live runner cannot execute yet.
var ErrUnsupported = errors.New("not supported by the live runner yet")

// anomalyOf turns a scenario action into the executor that performs it.
func anomalyOf(a spec.Action, env *anomalies.Env) (anomalies.Anomaly, error) {
	switch a := a.(type) {
	case *spec.NetworkAction:
		return &anomalies.Toxic{Env: env, Link: a.Link, Type: a.Toxic, Direction: a.EffectiveDirection(),
			Toxicity: a.EffectiveToxicity(), Attributes: a.Attributes}, nil
	case *spec.OutageAction:
		return &anomalies.LinkDown{Env: env, Links: []string{a.Link}}, nil
	case *spec.PartitionAction:
		return &anomalies.LinkDown{Env: env, Links: a.Links}, nil
	case *spec.ProcessAction:
		return &anomalies.Process{Env: env, Op: a.Op, Service: a.Service, Instance: a.Instance, Offset: a.Offset.D()}, nil
	case *spec.BrokerAction:
		return &anomalies.Broker{Env: env, Op: a.Op, Node: a.Node, Service: a.Service}, nil
	case *spec.ClusterAction:
		return &anomalies.Cluster{Env: env, Op: a.Op, Node: a.Node, To: a.To, Minority: a.Minority, LeaderOf: a.LeaderOf}, nil
	case *spec.InAppAction:
		return &anomalies.InApp{Env: env, Anomaly: a.Anomaly, Service: a.Service, MessageType: a.MessageType,
			DelayInMs: a.Parameters.DelayInMs, StatusFilter: a.Parameters.StatusFilter}, nil
	case *spec.MessageAction:
		m := a.Match
		msg := &anomalies.Message{Env: env, Service: a.Service, Fault: a.Fault, MessageType: m.MessageType,
			RoutingKey: m.RoutingKey, Queue: m.Queue, Nth: m.Nth, Every: m.Every, Count: m.Count,
			Probability: m.Probability, Window: a.Window, Prefetch: a.Prefetch, Delay: a.Delay.D(), ReplyCode: a.ReplyCode}
		if a.Fault == "drop-ack" {
			at := a.EffectiveAckTimeout().D()
			msg.AckTimeout = &at
		}
		return msg, nil
	}
	return nil, fmt.Errorf("action type %q: %w", a.Type(), ErrUnsupported)
}

// CheckSupported reports, before anything starts, every action of the plan
// the runner cannot execute.
func CheckSupported(p *spec.Plan) error {
	var errs []error
	env := &anomalies.Env{}
	for _, s := range p.Timeline {
		if _, err := anomalyOf(s.Action, env); err != nil {
			errs = append(errs, fmt.Errorf("step %s: %w", s.Name, err))
		}
	}
	for i, s := range p.Rollbacks {
		if _, err := anomalyOf(s.Action, env); err != nil {
			errs = append(errs, fmt.Errorf("rollback %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

// ErrNeedsOwnBroker reports a plan run on a shared broker (a vhost of a
// suite's node) whose faults act on the node as a whole.
var ErrNeedsOwnBroker = errors.New("acts on the whole broker node, so it needs a broker of its own")

// NeedsOwnBroker reports whether the plan acts on a broker node as a whole
// (stop, start, memory or disk alarm) or on its cluster: such faults hit
// every vhost, so the run cannot share a node with other runs. Closing
// connections is scoped to the lab's vhost and can share.
func NeedsOwnBroker(p *spec.Plan) bool {
	for _, a := range p.Actions() {
		if b, ok := a.(*spec.BrokerAction); ok && b.Op != anomalies.OpCloseConnections {
			return true
		}
		if _, ok := a.(*spec.ClusterAction); ok {
			return true
		}
	}
	return false
}
