package amqpproxy

// DuplicatePublish sends a matching basic.publish to the broker twice; the
// publisher sees one confirm, sent once both copies are confirmed.
const DuplicatePublish Fault = "duplicate-publish"

var duplicatePublish = faultKind{
	at: OnPublish,
	publish: func(_ *pump, _ *capture, _ *rule, ev *Event, send func(int, *mark)) bool {
		send(2, nil)
		ev.Detail = "publish sent to the broker twice"
		return true
	},
}
