package amqpproxy

import "fmt"

// ConnectionClose closes the whole connection of a matching delivery or
// publish (On) with ReplyCode, as if the broker had.
const ConnectionClose Fault = "connection-close"

var connectionClose = faultKind{
	movable:  true,
	defaults: closeDefaults(320, "CONNECTION_FORCED - connection closed by amqpproxy fault"),
	validate: validateReply,
	deliver: func(p *pump, _ *capture, r *rule, ev *Event) bool {
		ev.Detail = fmt.Sprintf("connection.close %d %q instead of the delivery", r.ReplyCode, r.ReplyText)
		p.injectConnectionClose(r.ReplyCode, r.ReplyText)
		return true
	},
	publish: func(p *pump, _ *capture, r *rule, ev *Event, _ func(int, *mark)) bool {
		ev.Detail = fmt.Sprintf("connection.close %d %q instead of the publish", r.ReplyCode, r.ReplyText)
		p.injectConnectionClose(r.ReplyCode, r.ReplyText)
		return true
	},
}
