package amqpproxy

import (
	"errors"
	"fmt"
)

// ChannelClose closes the channel of a matching delivery or publish (On)
// with ReplyCode, as if the broker had: the client gets channel.close, the
// broker a normal close, the message is not passed on.
const ChannelClose Fault = "channel-close"

var channelClose = faultKind{
	movable:  true,
	defaults: closeDefaults(406, "PRECONDITION_FAILED - channel closed by amqpproxy fault"),
	validate: validateReply,
	deliver: func(p *pump, c *capture, r *rule, ev *Event) bool {
		ev.Detail = fmt.Sprintf("channel.close %d %q instead of the delivery", r.ReplyCode, r.ReplyText)
		p.injectChannelClose(c.cs, r.ReplyCode, r.ReplyText)
		return true
	},
	publish: func(p *pump, c *capture, r *rule, ev *Event, _ func(int, *mark)) bool {
		ev.Detail = fmt.Sprintf("channel.close %d %q instead of the publish", r.ReplyCode, r.ReplyText)
		p.injectChannelClose(c.cs, r.ReplyCode, r.ReplyText)
		return true
	},
}

// closeDefaults is the defaults of a close fault: its reply code and text.
func closeDefaults(code uint16, text string) func(r *Rule) {
	return func(r *Rule) {
		if r.ReplyCode == 0 {
			r.ReplyCode = code
		}
		if r.ReplyText == "" {
			r.ReplyText = text
		}
	}
}

// validateReply checks a close fault's reply code and text.
func validateReply(r *Rule) []error {
	var errs []error
	if r.ReplyCode < 200 || r.ReplyCode > 599 {
		errs = append(errs, fmt.Errorf("reply_code %d: want an AMQP reply code (200..599)", r.ReplyCode))
	}
	if len(r.ReplyText) > 255 {
		errs = append(errs, errors.New("reply_text: longer than 255 bytes"))
	}
	return errs
}
