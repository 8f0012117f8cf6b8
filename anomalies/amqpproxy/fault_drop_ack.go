package amqpproxy

// DropAck swallows the consumer's basic.ack of a matching delivery: the
// broker keeps it unacked and redelivers it (redelivered=true) once the
// channel or connection closes. After the rule's AckTimeout the proxy closes
// the channel itself, as RabbitMQ's consumer_timeout does. The swallowing
// happens in the settlement path (deliveryTable.settle, link.settle), which
// the mark set here steers.
const DropAck Fault = "drop-ack"

var dropAck = faultKind{
	at:       OnDeliver,
	needsAck: true,
	defaults: func(r *Rule) {
		if r.AckTimeout == nil {
			d := Duration(DefaultAckTimeout)
			r.AckTimeout = &d
		}
	},
	deliver: func(p *pump, c *capture, r *rule, _ *Event) bool {
		p.l.emitDelivery(&p.b, c.cs, c, false, &mark{rule: r, info: c.info, broker: c.btag})
		return false // the event is recorded when the ack is swallowed
	},
}
