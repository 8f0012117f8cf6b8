package amqpproxy

// DelayConfirm holds the publisher confirm of a matching publish on a
// channel in confirm mode for Delay (in the confirm path, like
// DropConfirm).
const DelayConfirm Fault = "delay-confirm"

var delayConfirm = faultKind{
	at:           OnPublish,
	needsConfirm: true,
	validate:     delayPositive,
	publish:      markForConfirm,
}
