package amqpproxy

// ChannelClose closes the channel of a matching delivery or publish (On)
// with ReplyCode, as if the broker had: the client gets channel.close, the
// broker a normal close, the message is not passed on.
const ChannelClose Fault = "channel-close"

var channelClose = closeFault("channel.close", 406, "PRECONDITION_FAILED - channel closed by amqpproxy fault",
	func(p *pump, c *capture, r *rule) { p.injectChannelClose(c.cs, r.ReplyCode, r.ReplyText) })
