package anomalies

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy"
)

// Evidence counters of message faults: what the service's message proxy
// applied while the rule was installed (its evidence events with the rule's
// id, read at heal; before it, LiveEvidence reads them so far).
const (
	CounterProxyDeliveriesDuplicated = "proxy.deliveries-duplicated"
	CounterProxyDeliveriesReordered  = "proxy.deliveries-reordered"
	CounterProxyAcksDropped          = "proxy.acks-dropped"
	CounterProxyConfirmsDropped      = "proxy.confirms-dropped"
	CounterProxyConfirmsDelayed      = "proxy.confirms-delayed"
	CounterProxyPublishesDuplicated  = "proxy.publishes-duplicated"
	CounterProxyChannelsClosed       = "proxy.channels-closed"
	CounterProxyAckTimeouts          = "proxy.ack-timeouts"
)

// proxyCounters maps each proxy fault to its evidence counter. Faults
// without a counter in the scenario history's catalog (delay-delivery,
// connection-close) are logged but not counted.
var proxyCounters = map[amqpproxy.Fault]string{
	amqpproxy.DuplicateDelivery: CounterProxyDeliveriesDuplicated,
	amqpproxy.Reorder:           CounterProxyDeliveriesReordered,
	amqpproxy.DropAck:           CounterProxyAcksDropped,
	amqpproxy.DropConfirm:       CounterProxyConfirmsDropped,
	amqpproxy.DelayConfirm:      CounterProxyConfirmsDelayed,
	amqpproxy.DuplicatePublish:  CounterProxyPublishesDuplicated,
	amqpproxy.ChannelClose:      CounterProxyChannelsClosed,
	amqpproxy.AckTimedOut:       CounterProxyAckTimeouts,
}

// MessageCounters lists the evidence counters Message records.
func MessageCounters() []string {
	return []string{CounterProxyDeliveriesDuplicated, CounterProxyDeliveriesReordered, CounterProxyAcksDropped,
		CounterProxyConfirmsDropped, CounterProxyConfirmsDelayed, CounterProxyPublishesDuplicated, CounterProxyChannelsClosed,
		CounterProxyAckTimeouts}
}

// ProxyFault maps a message fault name to the proxy's fault.
func ProxyFault(name string) (amqpproxy.Fault, error) {
	f, err := amqpproxy.ParseFault(name)
	if err != nil {
		return "", fmt.Errorf("message %w", err)
	}
	return f, nil
}

// ruleSeq makes rule ids unique within the control process.
var ruleSeq atomic.Int64

// Message installs one rule in the AMQP-aware message proxy chained into
// every instance's broker path (service → Toxiproxy → message proxy →
// broker), through the lab API:
//
//	POST   <lab api>/services/<id>/faults   {id, fault, match, every, limit, …}
//	GET    <lab api>/services/<id>/evidence (at heal, and while a proxy counter is watched: the events of this rule)
//	DELETE <lab api>/services/<id>/faults/<rule id>
//
// The rule acts on deliveries to the service (duplicate-delivery, reorder,
// delay-delivery, drop-ack) or on its publishes (drop-confirm,
// delay-confirm, duplicate-publish); channel-close acts on deliveries. Heal
// removes the rule on every instance, then reads what it did into the
// proxy.* counters and logs every applied fault with its message id; until
// then the Healer Inject returns reads them so far (LiveEvidence). A
// drop-ack rule's effect outlives its removal: each swallowed ack closes its
// channel once the ack timeout expires (proxy.ack-timeouts), so heal first
// waits, at most the ack timeout plus ackTimeoutSlack, until no ack timer
// of the rule is running.
type Message struct {
	Env     *Env
	Service string
	// Instance limits the rule to one instance (1, 2, …); 0 means all.
	Instance int
	// Fault is a proxy fault (amqpproxy.Faults), e.g. reorder or
	// channel-close.
	Fault string
	// Match: empty fields match every message.
	MessageType, RoutingKey, Queue string
	// Nth applies the fault to the Nth matching message only; Every to every
	// Every-th; Count stops after Count applications; Probability (0 =
	// always) draws from the proxy's seeded source.
	Nth, Every, Count int
	Probability       float64
	// Window is the reorder window; Prefetch (reorder) raises the prefetch
	// of channels the service opens while the rule is installed; Delay the
	// hold of delay-confirm and delay-delivery; ReplyCode the code of an
	// injected channel close.
	Window    int
	Prefetch  int
	Delay     time.Duration
	ReplyCode int
	// AckTimeout (drop-ack) closes the channel of a delivery whose ack was
	// swallowed this long ago, as RabbitMQ's consumer_timeout does; nil
	// means the proxy's default (amqpproxy.DefaultAckTimeout), 0 never.
	AckTimeout *time.Duration
}

// ackTimeoutSlack is how much longer than the ack timeout heal waits for a
// drop-ack rule's timers.
const ackTimeoutSlack = 5 * time.Second

var _ Anomaly = (*Message)(nil)

// Name is "<fault>-<service>[-<instance>][-<messageType>]".
func (m *Message) Name() string {
	n := m.Fault + "-" + m.Service
	if m.Instance > 0 {
		n += "-" + strconv.Itoa(m.Instance)
	}
	if m.MessageType != "" {
		n += "-" + m.MessageType
	}
	return n
}

// Rule is the proxy rule the executor installs (without its id).
func (m *Message) Rule() (amqpproxy.Rule, error) {
	f, err := ProxyFault(m.Fault)
	if err != nil {
		return amqpproxy.Rule{}, err
	}
	r := amqpproxy.Rule{Fault: f, Every: m.Every, Limit: m.Count, Window: m.Window,
		Delay: amqpproxy.Duration(m.Delay), ReplyCode: uint16(m.ReplyCode),
		Match: amqpproxy.Match{Type: m.MessageType, RoutingKey: m.RoutingKey, Queue: m.Queue}}
	if m.Nth > 0 {
		r.Every, r.Limit = m.Nth, 1
	}
	if m.Probability > 0 {
		p := m.Probability
		r.Probability = &p
	}
	if m.ReplyCode < 0 || m.ReplyCode > 999 {
		return amqpproxy.Rule{}, fmt.Errorf("reply code %d: want an AMQP reply code", m.ReplyCode)
	}
	if m.Prefetch < 0 || m.Prefetch > 65535 {
		return amqpproxy.Rule{}, fmt.Errorf("prefetch %d: want 1 to 65535", m.Prefetch)
	}
	r.Prefetch = uint16(m.Prefetch)
	switch {
	case m.AckTimeout != nil:
		d := amqpproxy.Duration(*m.AckTimeout)
		r.AckTimeout = &d
	case f == amqpproxy.DropAck:
		d := amqpproxy.Duration(amqpproxy.DefaultAckTimeout)
		r.AckTimeout = &d
	}
	return r, nil
}

// Inject installs the rule on every targeted instance; on any failure it
// removes what it installed.
func (m *Message) Inject(ctx context.Context) (Healer, error) {
	env := m.Env
	rule, err := m.Rule()
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", m.Name(), err)
	}
	if env.LabAPI == "" {
		return nil, fmt.Errorf("inject %s: the lab API address is unknown (Env.LabAPI)", m.Name())
	}
	targets, err := env.instances(m.Service, m.Instance)
	if err != nil {
		return nil, fmt.Errorf("inject %s: %w", m.Name(), err)
	}
	rule.ID = m.Name() + "-" + strconv.FormatInt(ruleSeq.Add(1), 10)
	env.log().Info("Injecting anomaly", "anomaly", m.Name(), "rule", rule.ID, "instances", len(targets))
	h := &messageHealer{m: m, rule: rule}
	for _, in := range targets {
		u := m.base(in) + "/faults"
		if err := (request{client: env.http(), method: http.MethodPost, url: u, body: rule}).do(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("inject %s on %s: %w", m.Name(), in.ID, err), healNow(ctx, h))
		}
		h.done = append(h.done, in)
	}
	return h, nil
}

// LiveEvidence is the Healer of an installed fault that can read its
// evidence counters before its heal records them.
type LiveEvidence interface {
	Healer
	// EvidenceSoFar returns the counters the fault has earned so far; once
	// its heal has begun it returns none (the heal records them). A reader
	// that reads the recorded evidence first, then this, counts no event
	// twice.
	EvidenceSoFar(ctx context.Context) (map[string]float64, error)
}

// messageHealer is the Healer of one installed proxy rule.
type messageHealer struct {
	m    *Message
	rule amqpproxy.Rule
	done []Instance // the instances the rule was installed on (set by Inject)
	// healing is set when Heal begins, before the heal adds the rule's
	// counters to the evidence; EvidenceSoFar counts nothing from then on.
	healing atomic.Bool
}

var _ LiveEvidence = (*messageHealer)(nil)

// Heal removes the rule everywhere it was installed and records its evidence.
func (h *messageHealer) Heal(ctx context.Context) error {
	h.healing.Store(true)
	return h.m.heal(ctx, h.rule, h.done)
}

// EvidenceSoFar reads the proxy evidence of every instance the rule is
// installed on and counts the rule's events by counter (proxy.*). An
// instance whose evidence cannot be read makes it an error.
func (h *messageHealer) EvidenceSoFar(ctx context.Context) (map[string]float64, error) {
	if h.healing.Load() {
		return nil, nil
	}
	out := map[string]float64{}
	for _, in := range h.done {
		var ev amqpproxy.Evidence
		if err := (request{client: h.m.Env.http(), method: http.MethodGet, url: h.m.base(in) + "/evidence", out: &ev}).do(ctx); err != nil {
			return nil, fmt.Errorf("read the evidence of %s on %s: %w", h.m.Name(), in.ID, err)
		}
		for _, e := range ev.Events {
			if c, ok := proxyCounters[e.Fault]; ok && e.Rule == h.rule.ID {
				out[c]++
			}
		}
	}
	return out, nil
}

func (m *Message) base(in Instance) string {
	return m.Env.LabAPI + "/services/" + url.PathEscape(in.ID)
}

// heal removes the rule everywhere it was installed, then reads its
// evidence. Removing comes first so that a failing evidence read never
// leaves the fault installed.
func (m *Message) heal(ctx context.Context, rule amqpproxy.Rule, done []Instance) error {
	env := m.Env
	var errs []error
	for _, in := range done {
		u := m.base(in) + "/faults/" + url.PathEscape(rule.ID)
		if err := (request{client: env.http(), method: http.MethodDelete, url: u}).do(ctx); err != nil && !isStatus(err, http.StatusNotFound) {
			errs = append(errs, fmt.Errorf("heal %s on %s: %w", m.Name(), in.ID, err))
		}
	}
	counts := map[amqpproxy.Fault]int64{}
	read := false
	var until time.Time
	if rule.Fault == amqpproxy.DropAck && rule.AckTimeout != nil && *rule.AckTimeout > 0 {
		until = time.Now().Add(time.Duration(*rule.AckTimeout) + ackTimeoutSlack)
		// Leave time to read the evidence before the heal's deadline.
		if dl, ok := ctx.Deadline(); ok && until.After(dl.Add(-ackTimeoutSlack/2)) {
			until = dl.Add(-ackTimeoutSlack / 2)
		}
	}
	for _, in := range done {
		ev, err := m.evidence(ctx, in, rule.ID, until)
		if err != nil {
			errs = append(errs, fmt.Errorf("read the evidence of %s on %s: %w", m.Name(), in.ID, err))
			continue
		}
		read = true
		for _, e := range ev.Events {
			if e.Rule != rule.ID {
				continue
			}
			counts[e.Fault]++
			env.log().Info("Message fault applied", "anomaly", m.Name(), "service", in.ID, "fault", string(e.Fault),
				"msg_id", e.MessageID, "type", e.MessageType, "routing_key", e.RoutingKey, "at", e.Time, "detail", e.Detail)
		}
	}
	if read {
		// Record the rule's own fault even at 0: "looked, saw nothing".
		if c, ok := proxyCounters[rule.Fault]; ok {
			env.Evidence.Add(c, 0)
		}
		if !until.IsZero() {
			env.Evidence.Add(CounterProxyAckTimeouts, 0)
		}
		for f, n := range counts {
			if c, ok := proxyCounters[f]; ok {
				env.Evidence.Add(c, float64(n))
			}
		}
	}
	err := errors.Join(errs...)
	env.log().Info("Anomaly healed", "anomaly", m.Name(), "rule", rule.ID, "applied", counts[rule.Fault], "err", err)
	return err
}

// evidence reads the proxy evidence of instance in. Until until (zero: no
// wait) it polls while ack timers of rule id are still running, so that the
// evidence holds their outcome; past it, it returns what it read last.
func (m *Message) evidence(ctx context.Context, in Instance, id string, until time.Time) (amqpproxy.Evidence, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var ev amqpproxy.Evidence
		if err := (request{client: m.Env.http(), method: http.MethodGet, url: m.base(in) + "/evidence", out: &ev}).do(ctx); err != nil {
			return ev, err
		}
		if ev.AckTimers[id] == 0 || !time.Now().Before(until) {
			if n := ev.AckTimers[id]; n > 0 {
				m.Env.log().Warn("Ack timers still running after the wait", "anomaly", m.Name(), "service", in.ID, "timers", n)
			}
			return ev, nil
		}
		select {
		case <-ctx.Done():
			return ev, fmt.Errorf("wait for the ack timers of %s: %w", m.Name(), ctx.Err())
		case <-tick.C:
		}
	}
}
