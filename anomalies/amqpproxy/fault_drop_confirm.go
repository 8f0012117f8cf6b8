package amqpproxy

// DropConfirm swallows the publisher confirm (basic.ack or basic.nack) of a
// matching publish on a channel in confirm mode. The confirm path
// (confirmTracker.confirm, link.confirm) does the swallowing for the
// publish marked here.
const DropConfirm Fault = "drop-confirm"

var dropConfirm = faultKind{
	at:           OnPublish,
	needsConfirm: true,
	publish:      markForConfirm,
}

// markForConfirm passes a publish on, marked for the confirm path.
func markForConfirm(_ *pump, c *capture, r *rule, _ *Event, send func(int, *mark)) bool {
	send(1, &mark{rule: r, info: c.info})
	return false // the event is recorded when the confirm arrives
}
