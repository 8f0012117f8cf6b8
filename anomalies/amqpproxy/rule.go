package amqpproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Fault names one message-level fault. The names are stable: CLI flags,
// scenario files, evidence counters and reports use them. Each fault is
// defined in its own file, fault_<name>.go, and listed in registry.
type Fault string

// AckTimedOut is not a rule's fault but an effect of a drop-ack rule: the
// event (and evidence counter) recorded when the rule's AckTimeout expired
// and the proxy closed the consumer's channel with 406 PRECONDITION_FAILED.
const AckTimedOut Fault = "ack-timeout"

// renamedFaults are former fault names, each with the name that replaced it,
// so that an old spelling gets an error naming the new one.
var renamedFaults = map[Fault]Fault{
	"reorder-deliveries": Reorder,
	"close-channel":      ChannelClose,
	"close-connection":   ConnectionClose,
}

// ParseFault returns the fault called name. A former name is an error that
// names the current one.
func ParseFault(name string) (Fault, error) {
	if i := slices.Index(Faults(), Fault(name)); i >= 0 {
		return Faults()[i], nil
	}
	if now, ok := renamedFaults[Fault(name)]; ok {
		return "", fmt.Errorf("fault %q: renamed, spell it %q", name, now)
	}
	return "", fmt.Errorf("fault %q: want one of %v", name, Faults())
}

// Point is where a rule looks at messages: deliveries from the broker or
// publishes from the client.
type Point string

// The two points.
const (
	OnDeliver Point = "deliver"
	OnPublish Point = "publish"
)

// Match selects messages. Empty fields match anything; set fields must all
// be equal (exact, case-sensitive).
type Match struct {
	// Type is the basic property "type" (the lab's message type name).
	Type string `json:"type,omitempty"`
	// MessageID is the basic property "message-id".
	MessageID string `json:"message_id,omitempty"`
	// RoutingKey and Exchange are those of the publish or delivery.
	RoutingKey string `json:"routing_key,omitempty"`
	Exchange   string `json:"exchange,omitempty"`
	// Queue is the queue a delivery's consumer consumes from; for a publish
	// it matches the routing key of a publish to the default exchange.
	Queue string `json:"queue,omitempty"`
	// ConsumerTag matches deliveries only.
	ConsumerTag string `json:"consumer_tag,omitempty"`
}

// Rule is one fault with its targeting. The zero values of Every,
// Probability and Limit mean: every match, always, unlimited.
type Rule struct {
	// ID names the rule; AddRule assigns "r<N>" when empty.
	ID    string `json:"id,omitempty"`
	Fault Fault  `json:"fault"`
	// On is the point for channel-close and connection-close (default
	// deliver); the other faults have a fixed point.
	On    Point `json:"on,omitempty"`
	Match Match `json:"match"`
	// Every applies the fault to every Nth matching message (N = Every).
	Every int `json:"every,omitempty"`
	// Probability, when set, applies the fault to a matching message (that
	// passed Every) with this chance, drawn from the proxy's seeded source.
	Probability *float64 `json:"probability,omitempty"`
	// Limit stops the rule after this many applications.
	Limit int `json:"limit,omitempty"`
	// Window is the reorder window (default 3, 2..1000).
	Window int `json:"window,omitempty"`
	// Prefetch (reorder only) raises the prefetch count of every
	// basic.qos a client of this proxy sends while the rule is installed to
	// at least Prefetch, so that a window can fill in front of a consumer
	// that takes one delivery at a time (prefetch 1). RabbitMQ fixes a
	// consumer's prefetch when it subscribes, so the raise reaches only
	// channels opened (or reopened, e.g. after a channel-close rule) while
	// the rule is installed, and lasts for the channel's life.
	Prefetch uint16 `json:"prefetch,omitempty"`
	// Delay is how long delay-delivery and delay-confirm hold a message, and
	// the longest a reorder window waits to fill (default 200ms).
	Delay Duration `json:"delay,omitempty"`
	// AckTimeout (drop-ack only; default DefaultAckTimeout) is RabbitMQ's
	// delivery acknowledgement timeout (consumer_timeout) in small: this long
	// after swallowing the ack of a delivery the broker still holds unacked,
	// the proxy closes that channel towards the client with 406
	// PRECONDITION_FAILED and RabbitMQ's text, and towards the broker with a
	// normal close, so that the broker requeues every unacked delivery of
	// the channel (redelivered=true). 0 means never: the delivery stays
	// unacked until the client closes the channel or the connection.
	AckTimeout *Duration `json:"ack_timeout,omitempty"`
	// ReplyCode and ReplyText are sent with an injected close. Defaults:
	// 406 PRECONDITION_FAILED for a channel, 320 CONNECTION_FORCED for a
	// connection.
	ReplyCode uint16 `json:"reply_code,omitempty"`
	ReplyText string `json:"reply_text,omitempty"`
}

// RuleStatus is a rule with its counters.
type RuleStatus struct {
	Rule
	// Matched counts messages that matched the rule's Match.
	Matched int64 `json:"matched"`
	// Applied counts matches on which the fault was triggered.
	Applied int64 `json:"applied"`
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms"); a number is read as milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		ms, nerr := strconv.ParseFloat(string(b), 64)
		if nerr != nil {
			return fmt.Errorf("duration %s: want a string such as \"250ms\" or milliseconds", b)
		}
		*d = Duration(ms * float64(time.Millisecond))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Defaults.
const (
	DefaultWindow      = 3
	DefaultReorderHold = 200 * time.Millisecond
	DefaultAckTimeout  = 10 * time.Second
	maxWindow          = 1000
	maxDelay           = 10 * time.Minute
)

// point reports where the rule looks at messages.
func (r *Rule) point() Point {
	k := kindOf(r.Fault)
	switch {
	case k == nil:
		return OnDeliver
	case k.movable && r.On != "":
		return r.On
	case k.movable:
		return OnDeliver
	}
	return k.at
}

func (r *Rule) setDefaults() {
	k := kindOf(r.Fault)
	if k == nil {
		return
	}
	if k.defaults != nil {
		k.defaults(r)
	}
	if r.On == "" && k.movable {
		r.On = OnDeliver
	}
}

// Validate reports every problem with the rule at once.
func (r *Rule) Validate() error {
	var errs []error
	if _, err := ParseFault(string(r.Fault)); err != nil {
		errs = append(errs, err)
	}
	if r.On != "" && r.On != OnDeliver && r.On != OnPublish {
		errs = append(errs, fmt.Errorf("on %q: want %q or %q", r.On, OnDeliver, OnPublish))
	}
	if k := kindOf(r.Fault); r.On != "" && k != nil && !k.movable && r.On != r.point() {
		errs = append(errs, fmt.Errorf("on %q: %s always acts on %s", r.On, r.Fault, r.point()))
	}
	if r.point() == OnPublish && r.Match.ConsumerTag != "" {
		errs = append(errs, errors.New("match.consumer_tag: publishes have no consumer tag"))
	}
	if r.Every < 0 {
		errs = append(errs, fmt.Errorf("every %d: must be >= 0", r.Every))
	}
	if r.Probability != nil && (*r.Probability < 0 || *r.Probability > 1 || math.IsNaN(*r.Probability)) {
		errs = append(errs, fmt.Errorf("probability %v: must be within [0, 1]", *r.Probability))
	}
	if r.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit %d: must be >= 0", r.Limit))
	}
	if k := kindOf(r.Fault); k != nil && k.validate != nil {
		errs = append(errs, k.validate(r)...)
	}
	if r.Prefetch != 0 && r.Fault != Reorder {
		errs = append(errs, fmt.Errorf("prefetch: only %s raises the prefetch", Reorder))
	}
	if d := time.Duration(r.Delay); d < 0 || d > maxDelay {
		errs = append(errs, fmt.Errorf("delay %s: must be within [0, %s]", d, maxDelay))
	}
	if r.AckTimeout != nil {
		if r.Fault != DropAck {
			errs = append(errs, fmt.Errorf("ack_timeout: only %s takes an ack timeout", DropAck))
		}
		if at := time.Duration(*r.AckTimeout); at < 0 || at > maxDelay {
			errs = append(errs, fmt.Errorf("ack_timeout %s: must be within [0, %s] (0: never)", at, maxDelay))
		}
	}
	return errors.Join(errs...)
}

// rule is a Rule installed in a proxy, with its counters.
type rule struct {
	Rule
	at      Point
	kind    *faultKind // the Fault's behaviour, looked up once
	matched atomic.Int64
	applied atomic.Int64
}

func (r *rule) status() RuleStatus {
	return RuleStatus{Rule: r.Rule.clone(), Matched: r.matched.Load(), Applied: r.applied.Load()}
}

// clone copies the rule so that no caller shares its pointers.
func (r Rule) clone() Rule {
	if r.Probability != nil {
		p := *r.Probability
		r.Probability = &p
	}
	if r.AckTimeout != nil {
		d := *r.AckTimeout
		r.AckTimeout = &d
	}
	return r
}

// ackTimeout is the rule's AckTimeout, 0 when unset.
func (r *Rule) ackTimeout() time.Duration {
	if r.AckTimeout == nil {
		return 0
	}
	return time.Duration(*r.AckTimeout)
}

func (r *rule) exhausted() bool { return r.Limit > 0 && r.applied.Load() >= int64(r.Limit) }

// eligible reports whether the fault can act on a message in this context:
// confirm faults need a channel in confirm mode, a dropped ack needs a
// delivery that will be acked.
func (r *rule) eligible(ackRequired, confirming bool) bool {
	k := r.kind
	return k != nil && (!k.needsAck || ackRequired) && (!k.needsConfirm || confirming)
}

// msgInfo is what rules match on. During the method frame only the
// routing fields are known; MessageID and Type come with the content header.
type msgInfo struct {
	Exchange    string
	RoutingKey  string
	Queue       string
	ConsumerTag string
	MessageID   string
	Type        string
}

// prematch checks the fields known from the method frame, on byte slices so
// that the hot path does not allocate.
func (r *rule) prematch(exchange, routingKey []byte, queue string, consumerTag []byte) bool {
	m := &r.Match
	return (m.Exchange == "" || m.Exchange == string(exchange)) &&
		(m.RoutingKey == "" || m.RoutingKey == string(routingKey)) &&
		(m.Queue == "" || m.Queue == queue) &&
		(m.ConsumerTag == "" || m.ConsumerTag == string(consumerTag))
}

func (r *rule) matches(i *msgInfo) bool {
	m := &r.Match
	return (m.Exchange == "" || m.Exchange == i.Exchange) &&
		(m.RoutingKey == "" || m.RoutingKey == i.RoutingKey) &&
		(m.Queue == "" || m.Queue == i.Queue) &&
		(m.ConsumerTag == "" || m.ConsumerTag == i.ConsumerTag) &&
		(m.MessageID == "" || m.MessageID == i.MessageID) &&
		(m.Type == "" || m.Type == i.Type)
}

// ruleSet is an immutable snapshot, swapped atomically on every change so
// that the frame loops read it without a lock.
type ruleSet struct {
	all     []*rule
	deliver []*rule
	publish []*rule
	// prefetch is the largest Prefetch of the installed rules (0: none).
	prefetch uint16
}

func newRuleSet(all []*rule) *ruleSet {
	s := &ruleSet{all: all}
	for _, r := range all {
		s.prefetch = max(s.prefetch, r.Prefetch)
		if r.at == OnPublish {
			s.publish = append(s.publish, r)
		} else {
			s.deliver = append(s.deliver, r)
		}
	}
	return s
}

// candidate reports whether any live rule at the point could match a
// message with these routing fields, so that the message must be captured.
func candidate(rules []*rule, exchange, routingKey []byte, queue string, consumerTag []byte, ackRequired, confirming bool) bool {
	for _, r := range rules {
		if !r.exhausted() && r.eligible(ackRequired, confirming) && r.prematch(exchange, routingKey, queue, consumerTag) {
			return true
		}
	}
	return false
}

// publishQueue is the queue a publish addresses directly: its routing key
// when sent to the default exchange.
func publishQueue(exchange, routingKey []byte) string {
	if len(exchange) == 0 {
		return string(routingKey)
	}
	return ""
}
