package contracts

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ExchangeKind is an AMQP exchange type.
type ExchangeKind string

// Exchange kinds used by Ticketflow.
const (
	KindDirect ExchangeKind = "direct"
	KindTopic  ExchangeKind = "topic"
	// KindConsistentHash needs the rabbitmq_consistent_hash_exchange plugin.
	KindConsistentHash ExchangeKind = "x-consistent-hash"
)

// Exchange is a durable exchange declaration.
type Exchange struct {
	Name string
	Kind ExchangeKind
	// HashHeader is the consistent-hash exchange's hash-header argument
	// (the header whose value is hashed); "" for other kinds.
	HashHeader string
}

// Queue is a durable, classic queue declaration.
type Queue struct {
	Name string
	// Expires is x-expires (the broker deletes the queue this long after its
	// last consumer left); 0 means no expiry.
	Expires time.Duration
	// SingleActiveConsumer is x-single-active-consumer: of several consumers
	// the broker delivers to one only and moves to the next when it leaves,
	// so a queue whose order matters keeps it with several instances
	// (sla-ticket-changes, the original's lesson M14L7 option, spec §6.3).
	SingleActiveConsumer bool
}

// Binding binds Destination (a queue, or an exchange when ToExchange) to
// Source with Key.
type Binding struct {
	Source      string
	Destination string
	Key         string
	ToExchange  bool
}

// Consumer says which service consumes which queue and which message types it
// accepts. Types not accepted are acked and dropped (spec §3.3).
type Consumer struct {
	Service string // short service name
	Queue   string
	Accepts []string
	// AnyAlert accepts every message type, known to contracts or not, and
	// reads it as an alert (Communication's ProducerAgnosticAlertMessage);
	// the service registers one handler for messaging.AnyType.
	AnyAlert bool
	// Prefetch is the basic.qos count (original: 10, SLA 1).
	Prefetch int
}

// AcceptsType reports whether the consumer handles msgType.
func (c Consumer) AcceptsType(msgType string) bool {
	return c.AnyAlert || slices.Contains(c.Accepts, msgType)
}

// Topology is plain data; the messaging layer converts it to its own spec.
type Topology struct {
	Exchanges []Exchange
	Queues    []Queue
	Bindings  []Binding
	Consumers []Consumer
}

// TicketEventTypes lists the versioned events of the ticket aggregate, all
// published to tickets-exchange.
func TicketEventTypes() []string {
	return []string{TypeTicketCreated, TypeTicketQualified, TypeIncidentCreated, TypeAgentAssignedToTicket, TypeTicketBlocked, TypeTicketUnblocked, TypeTicketResolved}
}

// Prefetch defaults of the original appsettings.
const (
	DefaultPrefetch = 10
	SLAPrefetch     = 1
)

// Ticketflow returns the effective topology of the system (spec §6.2) with
// this port's changes (see the package doc): the unused convention exchanges
// and queues and the unconsumed V1 queue are gone, Inquiries also binds
// ticket-resolved, SLA accepts TicketUnblocked. The per-instance anomaly-sync
// queues are added by ForService. The result is a fresh copy.
func Ticketflow() Topology {
	expiry := time.Duration(AnomaliesSyncQueueExpiry) * time.Millisecond
	return Topology{
		Exchanges: []Exchange{
			{Name: ExchangeInquirySubmitted, Kind: KindDirect},
			{Name: ExchangeTranslationCompleted, Kind: KindDirect},
			{Name: ExchangeTickets, Kind: KindTopic},
			{Name: ExchangeSLA, Kind: KindTopic},
			{Name: ExchangeAlerting, Kind: KindTopic},
			{Name: ExchangeAnomaliesSync, Kind: KindTopic},
			{Name: ExchangeMetrics, Kind: KindTopic},
		},
		Queues: []Queue{
			{Name: QueueInquirySubmittedTickets},
			{Name: QueueTranslationCompletedTickets},
			{Name: QueueRequestTranslationV2},
			{Name: QueueInquiriesTicketCreated},
			{Name: QueueTicketsSLAChanges},
			// One SLA instance consumes, the others are hot standbys (see
			// the sla package doc): with competing consumers each instance
			// would get part of every ticket's stream and its ordering guard
			// would hold the rest back.
			{Name: QueueSLATicketChanges, SingleActiveConsumer: true},
			{Name: QueueCommunicationTicketResolved},
			{Name: QueueCommunicationAlerts},
			{Name: QueueLiveMetrics, Expires: expiry},
		},
		Bindings: []Binding{
			{Source: ExchangeInquirySubmitted, Destination: QueueInquirySubmittedTickets, Key: ""},
			{Source: ExchangeTranslationCompleted, Destination: QueueTranslationCompletedTickets, Key: ""},
			{Source: ExchangeTickets, Destination: QueueInquiriesTicketCreated, Key: KeyTicketCreated},
			{Source: ExchangeTickets, Destination: QueueInquiriesTicketCreated, Key: KeyTicketResolved},
			// Only what Tickets consumes: the original bound "#", so every
			// SLABreached landed here too and was dropped as unaccepted.
			{Source: ExchangeSLA, Destination: QueueTicketsSLAChanges, Key: KeyDeadlinesCalculated},
			{Source: ExchangeTickets, Destination: QueueSLATicketChanges, Key: KeyAll},
			{Source: ExchangeTickets, Destination: QueueCommunicationTicketResolved, Key: KeyTicketResolved},
			{Source: ExchangeAlerting, Destination: QueueCommunicationAlerts, Key: KeyAll},
			{Source: ExchangeTickets, Destination: ExchangeAlerting, Key: KeyAlertPattern, ToExchange: true},
			{Source: ExchangeSLA, Destination: ExchangeAlerting, Key: KeyAlertPattern, ToExchange: true},
			{Source: ExchangeMetrics, Destination: QueueLiveMetrics, Key: KeyAll},
		},
		Consumers: []Consumer{
			{Service: Tickets.Name, Queue: QueueInquirySubmittedTickets, Accepts: []string{TypeInquirySubmitted}, Prefetch: DefaultPrefetch},
			{Service: Tickets.Name, Queue: QueueTranslationCompletedTickets, Accepts: []string{TypeTranslationCompleted, TypeTranslationSkipped}, Prefetch: DefaultPrefetch},
			{Service: Tickets.Name, Queue: QueueTicketsSLAChanges, Accepts: []string{TypeDeadlinesCalculated}, Prefetch: DefaultPrefetch},
			{Service: Inquiries.Name, Queue: QueueInquiriesTicketCreated, Accepts: []string{TypeTicketCreated, TypeTicketResolved}, Prefetch: DefaultPrefetch},
			{Service: Translations.Name, Queue: QueueRequestTranslationV2, Accepts: []string{TypeRequestTranslationV2}, Prefetch: DefaultPrefetch},
			// SLA accepts every ticket event: TicketCreated and IncidentCreated are
			// no-ops there, but accepting them keeps each ticket's version stream
			// gap-free, which a contiguous ordering guard needs.
			{Service: SLA.Name, Queue: QueueSLATicketChanges, Accepts: TicketEventTypes(), Prefetch: SLAPrefetch},
			{Service: Communication.Name, Queue: QueueCommunicationTicketResolved, Accepts: []string{TypeTicketResolved}, Prefetch: DefaultPrefetch},
			{Service: Communication.Name, Queue: QueueCommunicationAlerts, AnyAlert: true, Prefetch: DefaultPrefetch},
			{Service: Metrics.Name, Queue: QueueLiveMetrics, Accepts: []string{TypeMetricTick}, Prefetch: DefaultPrefetch},
		},
	}
}

// ForService returns what one instance of a service declares and consumes:
// the whole static topology (every service declares all of it, idempotently,
// so no start-up order matters — the original's §12.6 #13), plus the
// instance's own anomaly-sync queue, with only that service's consumers.
func ForService(svc Service, instanceID string) (Topology, error) {
	return ForServiceWith(svc, instanceID, Variant{})
}

// ForServiceWith is ForService on the topology with the variant applied.
func ForServiceWith(svc Service, instanceID string, v Variant) (Topology, error) {
	if err := v.Validate(); err != nil {
		return Topology{}, err
	}
	if _, ok := ServiceByName(svc.Name); !ok {
		return Topology{}, fmt.Errorf("unknown service %q", svc.Name)
	}
	if instanceID == "" {
		return Topology{}, errors.New("instance id is required")
	}
	t := TicketflowWith(v)
	var own []Consumer
	for _, c := range t.Consumers {
		if c.Service == svc.Name {
			own = append(own, c)
		}
	}
	q := AnomaliesSyncQueue(svc.AppName, instanceID)
	t.Queues = append(t.Queues, Queue{Name: q, Expires: time.Duration(AnomaliesSyncQueueExpiry) * time.Millisecond})
	t.Bindings = append(t.Bindings, Binding{Source: ExchangeAnomaliesSync, Destination: q, Key: svc.AppName})
	t.Consumers = append(own, Consumer{Service: svc.Name, Queue: q, Accepts: []string{TypeAnomalyEventWrapper}, Prefetch: DefaultPrefetch})
	return t, nil
}

// ConsumerFor finds the consumer of a queue.
func (t Topology) ConsumerFor(queue string) (Consumer, bool) {
	for _, c := range t.Consumers {
		if c.Queue == queue {
			return c, true
		}
	}
	return Consumer{}, false
}

// Validate checks that every binding and consumer refers to declared
// exchanges and queues, names are unique, and every routed message type has a
// queue that accepts it.
func (t Topology) Validate() error {
	var errs []error
	exchanges := map[string]bool{DefaultExchange: true}
	for _, e := range t.Exchanges {
		if exchanges[e.Name] {
			errs = append(errs, fmt.Errorf("exchange %q declared twice", e.Name))
		}
		if e.Kind != KindDirect && e.Kind != KindTopic && e.Kind != KindConsistentHash {
			errs = append(errs, fmt.Errorf("exchange %q: unknown kind %q", e.Name, e.Kind))
		}
		exchanges[e.Name] = true
	}
	queues := map[string]bool{}
	for _, q := range t.Queues {
		if queues[q.Name] {
			errs = append(errs, fmt.Errorf("queue %q declared twice", q.Name))
		}
		queues[q.Name] = true
	}
	for _, b := range t.Bindings {
		if !exchanges[b.Source] || b.Source == DefaultExchange {
			errs = append(errs, fmt.Errorf("binding %s->%s: unknown source exchange", b.Source, b.Destination))
		}
		if b.ToExchange && !exchanges[b.Destination] || !b.ToExchange && !queues[b.Destination] {
			errs = append(errs, fmt.Errorf("binding %s->%s: unknown destination", b.Source, b.Destination))
		}
	}
	for _, c := range t.Consumers {
		if !queues[c.Queue] {
			errs = append(errs, fmt.Errorf("consumer %s: unknown queue %q", c.Service, c.Queue))
		}
		if c.Prefetch <= 0 {
			errs = append(errs, fmt.Errorf("consumer %s/%s: prefetch must be > 0", c.Service, c.Queue))
		}
	}
	return errors.Join(errs...)
}
