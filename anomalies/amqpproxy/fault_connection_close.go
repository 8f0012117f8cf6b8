package amqpproxy

// ConnectionClose closes the whole connection of a matching delivery or
// publish (On) with ReplyCode, as if the broker had.
const ConnectionClose Fault = "connection-close"

var connectionClose = closeFault("connection.close", 320, "CONNECTION_FORCED - connection closed by amqpproxy fault",
	func(p *pump, _ *capture, r *rule) { p.injectConnectionClose(r.ReplyCode, r.ReplyText) })
