package amqpproxy

import (
	"fmt"
	"time"
)

// Reorder holds the matching delivery and the next Window-1 deliveries of
// its channel (or as many as arrive within Delay) and hands them over in a
// seeded random, never identical, order.
const Reorder Fault = "reorder"

var reorder = faultKind{
	at: OnDeliver,
	defaults: func(r *Rule) {
		if r.Window == 0 {
			r.Window = DefaultWindow
		}
		if r.Delay == 0 {
			r.Delay = Duration(DefaultReorderHold)
		}
	},
	validate: func(r *Rule) []error {
		var errs []error
		if r.Window < 2 || r.Window > maxWindow {
			errs = append(errs, fmt.Errorf("window %d: must be within [2, %d]", r.Window, maxWindow))
		}
		if r.Prefetch != 0 && int(r.Prefetch) < r.Window {
			errs = append(errs, fmt.Errorf("prefetch %d: below the window %d, the window could not fill", r.Prefetch, r.Window))
		}
		return errs
	},
	deliver: func(p *pump, c *capture, r *rule, _ *Event) bool {
		l, cs := p.l, c.cs
		w := &window{rule: r, msgs: []*capture{c}}
		cs.win = w
		w.timer = l.afterFunc(time.Duration(r.Delay), func() {
			l.timerBatch(func(b *batch) {
				if cs.win == w && !cs.dead && cs.closing == nil {
					l.flushWindow(b, cs)
				}
			})
		})
		return false // the event is recorded when the window is handed out
	},
}
