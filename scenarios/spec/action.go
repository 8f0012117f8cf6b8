package spec

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Action is one fault (or heal) a step performs. The concrete types are the
// action classes of DESIGN §5; the runner type-switches on them.
type Action interface {
	// Type is the class: network, outage, partition, process, broker, inapp, message.
	Type() string
	// Instant reports whether the action has nothing to heal (restart,
	// resume, start, close-connections).
	Instant() bool
	// Target names what it hits, for logs and reports ("tickets", "broker").
	Target() string
	// Describe is a one-line human summary.
	Describe() string
	// Params are the action's parameters as strings, for the journal.
	Params() map[string]string

	validate(v *validator, path string)
}

// NetworkAction installs one Toxiproxy toxic on a service's link to the broker.
type NetworkAction struct {
	Toxic      string           `yaml:"toxic"`
	Link       string           `yaml:"link"`      // service name
	Direction  string           `yaml:"direction"` // upstream | downstream | both (default)
	Toxicity   *float64         `yaml:"toxicity"`  // probability the toxic applies, default 1
	Attributes map[string]int64 `yaml:"attributes"`
}

// OutageAction takes one service's link down (Toxiproxy proxy disabled).
type OutageAction struct {
	Link string `yaml:"link"`
}

// PartitionAction takes a named set of links down together.
type PartitionAction struct {
	Links []string `yaml:"links"`
}

// ProcessAction signals or reconfigures a service process.
type ProcessAction struct {
	Op       string   `yaml:"op"`
	Service  string   `yaml:"service"`
	Instance int      `yaml:"instance"` // 0 = every instance
	Offset   Duration `yaml:"offset"`   // clock-offset: how far the service's clock moves (may be negative)
}

// BrokerAction acts on a RabbitMQ node.
type BrokerAction struct {
	Op      string `yaml:"op"`
	Node    string `yaml:"node"`    // empty = the (first) node
	Service string `yaml:"service"` // close-connections: only this service's connections
}

// InAppAction enables one of the nine Ticketflow anomalies through a service's API.
type InAppAction struct {
	Anomaly     string      `yaml:"anomaly"`
	Service     string      `yaml:"service"`
	MessageType string      `yaml:"messageType"`
	Parameters  InAppParams `yaml:"params"`
}

// InAppParams are the anomaly API's additionalParams.
type InAppParams struct {
	DelayInMs    int    `yaml:"DelayInMs"`
	StatusFilter string `yaml:"StatusFilter"`
}

// MessageAction installs a rule in the AMQP-aware proxy in front of a service.
type MessageAction struct {
	Fault     string   `yaml:"fault"`
	Service   string   `yaml:"service"`
	Match     Match    `yaml:"match"`
	Window    int      `yaml:"window"`    // reorder: deliveries held and shuffled
	Prefetch  int      `yaml:"prefetch"`  // reorder: raise the prefetch of channels opened meanwhile (prefetch-1 consumers)
	Delay     Duration `yaml:"delay"`     // delay-confirm: the hold; reorder: the longest wait for a window to fill (default 200ms)
	ReplyCode int      `yaml:"replyCode"` // channel-close, default 320
	// AckTimeout (drop-ack): this long after swallowing an ack the proxy
	// closes the consumer's channel with 406, as RabbitMQ's consumer_timeout
	// does, and the broker requeues the delivery. Unset: DefaultAckTimeout;
	// 0: never.
	AckTimeout *Duration `yaml:"ackTimeout"`
}

// DefaultAckTimeout is a drop-ack step's ack timeout when it names none:
// RabbitMQ's consumer_timeout (30 minutes by default) scaled to a run.
const DefaultAckTimeout = Duration(10 * time.Second)

// EffectiveAckTimeout is a drop-ack step's ack timeout with its default (0
// for other faults).
func (a *MessageAction) EffectiveAckTimeout() Duration {
	switch {
	case a.Fault != "drop-ack":
		return 0
	case a.AckTimeout == nil:
		return DefaultAckTimeout
	}
	return *a.AckTimeout
}

// Match selects the messages a proxy rule acts on; empty fields match all.
type Match struct {
	MessageType string  `yaml:"messageType"`
	RoutingKey  string  `yaml:"routingKey"`
	Queue       string  `yaml:"queue"`
	Nth         int     `yaml:"nth"`         // only the n-th match
	Every       int     `yaml:"every"`       // every n-th match
	Count       int     `yaml:"count"`       // at most this many
	Probability float64 `yaml:"probability"` // seeded
}

var (
	_ Action = (*NetworkAction)(nil)
	_ Action = (*OutageAction)(nil)
	_ Action = (*PartitionAction)(nil)
	_ Action = (*ProcessAction)(nil)
	_ Action = (*BrokerAction)(nil)
	_ Action = (*InAppAction)(nil)
	_ Action = (*MessageAction)(nil)
)

func (*NetworkAction) Type() string   { return TypeNetwork }
func (*OutageAction) Type() string    { return TypeOutage }
func (*PartitionAction) Type() string { return TypePartition }
func (*ProcessAction) Type() string   { return TypeProcess }
func (*BrokerAction) Type() string    { return TypeBroker }
func (*InAppAction) Type() string     { return TypeInApp }
func (*MessageAction) Type() string   { return TypeMessage }

func (*NetworkAction) Instant() bool   { return false }
func (*OutageAction) Instant() bool    { return false }
func (*PartitionAction) Instant() bool { return false }
func (a *ProcessAction) Instant() bool { return slices.Contains(processInstantOps, a.Op) }
func (a *BrokerAction) Instant() bool  { return slices.Contains(brokerInstantOps, a.Op) }
func (*InAppAction) Instant() bool     { return false }
func (*MessageAction) Instant() bool   { return false }

func (a *NetworkAction) Target() string   { return a.Link }
func (a *OutageAction) Target() string    { return a.Link }
func (a *PartitionAction) Target() string { return strings.Join(a.Links, "+") }
func (a *ProcessAction) Target() string   { return a.Service }
func (a *BrokerAction) Target() string {
	if a.Node != "" {
		return a.Node
	}
	return "broker"
}
func (a *InAppAction) Target() string   { return a.Service }
func (a *MessageAction) Target() string { return a.Service }

// EffectiveDirection is Direction with its default.
func (a *NetworkAction) EffectiveDirection() string {
	if a.Direction == "" {
		return "both"
	}
	return a.Direction
}

// EffectiveToxicity is Toxicity with its default (1).
func (a *NetworkAction) EffectiveToxicity() float64 {
	if a.Toxicity == nil {
		return 1
	}
	return *a.Toxicity
}

func (a *NetworkAction) Describe() string {
	var attrs []string
	for _, k := range sortedAttrKeys(a.Attributes) {
		attrs = append(attrs, fmt.Sprintf("%s=%d", k, a.Attributes[k]))
	}
	return fmt.Sprintf("%s toxic on the %s link (%s) %s", a.Toxic, a.Link, a.EffectiveDirection(), strings.Join(attrs, " "))
}
func (a *OutageAction) Describe() string { return fmt.Sprintf("the %s link is down", a.Link) }
func (a *PartitionAction) Describe() string {
	return fmt.Sprintf("links %s are down together", strings.Join(a.Links, ", "))
}
func (a *ProcessAction) Describe() string {
	if a.Op == "clock-offset" {
		return fmt.Sprintf("%s's clock moves by %s", a.Service, a.Offset)
	}
	return fmt.Sprintf("%s %s", a.Op, a.Service)
}
func (a *BrokerAction) Describe() string {
	if a.Op == "close-connections" && a.Service != "" {
		return fmt.Sprintf("close %s's connections on the %s", a.Service, a.Target())
	}
	return fmt.Sprintf("%s on the %s", a.Op, a.Target())
}
func (a *InAppAction) Describe() string {
	return fmt.Sprintf("%s on %s in %s", a.Anomaly, a.MessageType, a.Service)
}
func (a *MessageAction) Describe() string {
	d := fmt.Sprintf("%s in front of %s%s", a.Fault, a.Service, a.Match.describe())
	if a.Fault == "drop-ack" {
		if t := a.EffectiveAckTimeout(); t > 0 {
			d += fmt.Sprintf(", ack timeout %s", t)
		} else {
			d += ", no ack timeout"
		}
	}
	return d
}

func (m Match) describe() string {
	var parts []string
	if m.MessageType != "" {
		parts = append(parts, "type "+m.MessageType)
	}
	if m.RoutingKey != "" {
		parts = append(parts, "key "+m.RoutingKey)
	}
	if m.Queue != "" {
		parts = append(parts, "queue "+m.Queue)
	}
	if len(parts) == 0 {
		return ""
	}
	return " for " + strings.Join(parts, ", ")
}

func (a *NetworkAction) Params() map[string]string {
	p := map[string]string{"toxic": a.Toxic, "link": a.Link, "direction": a.EffectiveDirection(),
		"toxicity": strconv.FormatFloat(a.EffectiveToxicity(), 'f', -1, 64)}
	for k, v := range a.Attributes {
		p[k] = strconv.FormatInt(v, 10)
	}
	return p
}
func (a *OutageAction) Params() map[string]string { return map[string]string{"link": a.Link} }
func (a *PartitionAction) Params() map[string]string {
	return map[string]string{"links": strings.Join(a.Links, ",")}
}
func (a *ProcessAction) Params() map[string]string {
	p := map[string]string{"op": a.Op, "service": a.Service}
	if a.Instance != 0 {
		p["instance"] = strconv.Itoa(a.Instance)
	}
	if a.Offset != 0 {
		p["offset"] = a.Offset.String()
	}
	return p
}
func (a *BrokerAction) Params() map[string]string {
	p := map[string]string{"op": a.Op}
	if a.Node != "" {
		p["node"] = a.Node
	}
	if a.Service != "" {
		p["service"] = a.Service
	}
	return p
}
func (a *InAppAction) Params() map[string]string {
	p := map[string]string{"anomaly": a.Anomaly, "service": a.Service, "messageType": a.MessageType}
	if a.Parameters.DelayInMs != 0 {
		p["DelayInMs"] = strconv.Itoa(a.Parameters.DelayInMs)
	}
	if a.Parameters.StatusFilter != "" {
		p["StatusFilter"] = a.Parameters.StatusFilter
	}
	return p
}
func (a *MessageAction) Params() map[string]string {
	p := map[string]string{"fault": a.Fault, "service": a.Service}
	add := func(k string, v int) {
		if v != 0 {
			p[k] = strconv.Itoa(v)
		}
	}
	add("window", a.Window)
	add("prefetch", a.Prefetch)
	add("replyCode", a.ReplyCode)
	add("nth", a.Match.Nth)
	add("every", a.Match.Every)
	add("count", a.Match.Count)
	if a.Delay != 0 {
		p["delay"] = a.Delay.String()
	}
	if a.Fault == "drop-ack" {
		p["ackTimeout"] = a.EffectiveAckTimeout().String()
	}
	if a.Match.MessageType != "" {
		p["messageType"] = a.Match.MessageType
	}
	if a.Match.RoutingKey != "" {
		p["routingKey"] = a.Match.RoutingKey
	}
	if a.Match.Queue != "" {
		p["queue"] = a.Match.Queue
	}
	if a.Match.Probability != 0 {
		p["probability"] = strconv.FormatFloat(a.Match.Probability, 'f', -1, 64)
	}
	return p
}

func sortedAttrKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
