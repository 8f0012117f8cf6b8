package amqpproxy

import "fmt"

// DuplicateDelivery hands one basic.deliver to the consumer twice, the copy
// with a synthetic delivery tag; the consumer's settlement of either copy
// settles the broker's delivery once.
const DuplicateDelivery Fault = "duplicate-delivery"

var duplicateDelivery = faultKind{
	at: OnDeliver,
	deliver: func(p *pump, c *capture, _ *rule, ev *Event) bool {
		l, b, cs := p.l, &p.b, c.cs
		first := l.emitDelivery(b, cs, c, true, nil)
		second := l.emitDelivery(b, cs, c, true, nil)
		ev.Detail = fmt.Sprintf("broker delivery tag %d handed out twice, as client tags %d and %d", c.btag, first, second)
		return true
	},
}
