package amqpproxy

import (
	"errors"
	"fmt"
	"time"
)

// faultKind is what a fault does. Each fault is one file, fault_<name>.go,
// holding its Fault name and its faultKind value; registry lists them.
type faultKind struct {
	// at is where the fault looks at messages. A movable fault acts where
	// the rule's On says (default OnDeliver).
	at      Point
	movable bool
	// needsAck limits the fault to deliveries the consumer will ack;
	// needsConfirm to publishes on a channel in confirm mode.
	needsAck, needsConfirm bool
	// defaults fills the rule's unset parameters; nil: none.
	defaults func(r *Rule)
	// validate reports what is wrong with the rule's parameters, after
	// defaults; nil: nothing to check.
	validate func(r *Rule) []error
	// deliver applies the fault to a captured delivery (faults at
	// OnDeliver), with the link's mutex held; ev is the fault's event, to
	// fill in. It returns false when the fault records its event later
	// itself (e.g. when the held messages go out).
	deliver func(p *pump, c *capture, r *rule, ev *Event) bool
	// publish is deliver for a captured publish (faults at OnPublish);
	// send passes the publish on to the broker copies times, with m (may be
	// nil) marking it for the confirm path.
	publish func(p *pump, c *capture, r *rule, ev *Event, send func(copies int, m *mark)) bool
}

// registry is every fault, in documentation order. A new fault is one new
// file plus one line here (see the package doc, "Adding a fault").
var registry = []struct {
	name Fault
	kind *faultKind
}{
	{DuplicateDelivery, &duplicateDelivery},
	{Reorder, &reorder},
	{DelayDelivery, &delayDelivery},
	{DropAck, &dropAck},
	{DropConfirm, &dropConfirm},
	{DelayConfirm, &delayConfirm},
	{DuplicatePublish, &duplicatePublish},
	{ChannelClose, &channelClose},
	{ConnectionClose, &connectionClose},
}

// Faults lists every fault, in documentation order.
func Faults() []Fault {
	out := make([]Fault, len(registry))
	for i, f := range registry {
		out[i] = f.name
	}
	return out
}

// kindOf returns the behaviour of fault f, nil for an unknown fault.
func kindOf(f Fault) *faultKind {
	for _, e := range registry {
		if e.name == f {
			return e.kind
		}
	}
	return nil
}

// delayPositive is the validate of faults whose Delay must be positive.
func delayPositive(r *Rule) []error {
	if d := time.Duration(r.Delay); d <= 0 {
		return []error{fmt.Errorf("delay %s: %s needs a positive delay", d, r.Fault)}
	}
	return nil
}

// closeFault is a fault that, instead of passing a matching delivery or
// publish on, runs inject (which sends method, e.g. "channel.close"). Its
// rule's On picks the point; ReplyCode and ReplyText default to code and
// text.
func closeFault(method string, code uint16, text string, inject func(p *pump, c *capture, r *rule)) faultKind {
	act := func(p *pump, c *capture, r *rule, ev *Event, instead string) bool {
		ev.Detail = fmt.Sprintf("%s %d %q instead of the %s", method, r.ReplyCode, r.ReplyText, instead)
		inject(p, c, r)
		return true
	}
	return faultKind{
		movable: true,
		defaults: func(r *Rule) {
			if r.ReplyCode == 0 {
				r.ReplyCode = code
			}
			if r.ReplyText == "" {
				r.ReplyText = text
			}
		},
		validate: func(r *Rule) []error {
			var errs []error
			if r.ReplyCode < 200 || r.ReplyCode > 599 {
				errs = append(errs, fmt.Errorf("reply_code %d: want an AMQP reply code (200..599)", r.ReplyCode))
			}
			if len(r.ReplyText) > 255 {
				errs = append(errs, errors.New("reply_text: longer than 255 bytes"))
			}
			return errs
		},
		deliver: func(p *pump, c *capture, r *rule, ev *Event) bool { return act(p, c, r, ev, "delivery") },
		publish: func(p *pump, c *capture, r *rule, ev *Event, _ func(int, *mark)) bool {
			return act(p, c, r, ev, "publish")
		},
	}
}
