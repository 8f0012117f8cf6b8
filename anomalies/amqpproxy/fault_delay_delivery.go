package amqpproxy

import (
	"fmt"
	"time"
)

// DelayDelivery holds a matching delivery for Delay; later deliveries of the
// channel overtake it.
const DelayDelivery Fault = "delay-delivery"

var delayDelivery = faultKind{
	at:       OnDeliver,
	validate: delayPositive,
	deliver: func(p *pump, c *capture, r *rule, ev *Event) bool {
		l, cs := p.l, c.cs
		ev.Detail = fmt.Sprintf("delivery held for %s", time.Duration(r.Delay))
		l.afterFunc(time.Duration(r.Delay), func() {
			l.timerBatch(func(b *batch) {
				if !cs.dead && cs.closing == nil && l.closing == nil {
					l.emitDelivery(b, cs, c, false, nil)
				}
			})
		})
		return true
	},
}
