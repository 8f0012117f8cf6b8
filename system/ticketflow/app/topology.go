package app

import (
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Topology converts Ticketflow's declarative topology (plain data in
// contracts) into the messaging layer's declaration spec. Exchanges and
// queues stay durable and classic; a queue's Expires becomes x-expires in
// milliseconds, SingleActiveConsumer x-single-active-consumer = true, an
// exchange's HashHeader the hash-header argument.
// Dead-lettering is not part of this conversion: the messaging layer declares
// its own companions <queue>-retry and <queue>-dlq (messaging.RetryTopology,
// reached through the default exchange) for every consumed queue when the
// retries protection is on. Consumers are not part of a declaration; see
// Runtime, which configures them from the same topology.
func Topology(t contracts.Topology) messaging.Topology {
	var out messaging.Topology
	for _, e := range t.Exchanges {
		me := messaging.Exchange{Name: e.Name, Kind: string(e.Kind)}
		if e.HashHeader != "" {
			me.Args = amqp.Table{"hash-header": e.HashHeader}
		}
		out.Exchanges = append(out.Exchanges, me)
	}
	for _, q := range t.Queues {
		mq := messaging.Queue{Name: q.Name}
		if q.Expires > 0 {
			mq.Args = amqp.Table{"x-expires": int32(q.Expires.Milliseconds())}
		}
		if q.SingleActiveConsumer {
			if mq.Args == nil {
				mq.Args = amqp.Table{}
			}
			mq.Args["x-single-active-consumer"] = true
		}
		out.Queues = append(out.Queues, mq)
	}
	for _, b := range t.Bindings {
		out.Bindings = append(out.Bindings, messaging.Binding{Source: b.Source, Destination: b.Destination, Key: b.Key, ToExchange: b.ToExchange})
	}
	return out
}
