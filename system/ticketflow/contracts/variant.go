package contracts

import (
	"fmt"
	"slices"
	"strconv"
)

// Names of the lesson variants' topology (spec §6.3, §6.4).
const (
	// QueueSLATicketQualified, QueueSLAAgentAssigned and QueueSLATicketResolved
	// replace sla-ticket-changes in the topic-per-type variant (lesson M14L2).
	QueueSLATicketQualified = "sla-ticket-qualified"
	QueueSLAAgentAssigned   = "sla-agent-assigned"
	QueueSLATicketResolved  = "sla-ticket-resolved"
	// ExchangeSLAPartitioned is the consistent-hash exchange of the
	// partitioned variant (lessons M14L10/11); its queues are SLAPartitionQueue(1..N).
	ExchangeSLAPartitioned = "sla-ticket-changes-partitioned-exchange"
	// QueueTicketsTicketCreated is the listen-to-yourself queue: Tickets
	// consumes its own TicketCreated.
	QueueTicketsTicketCreated = "tickets-ticket-created"
	// ExchangeFaults and QueueFaults receive the Fault.<T> messages of the
	// publish-fault-on-failure variant; nothing consumes the queue (inspect it).
	ExchangeFaults = "faults"
	QueueFaults    = "faults"
	// HashHeader is the header the consistent-hash exchange hashes on.
	HashHeader = "hash-on"
)

// InspectionQueues are the queues the system declares as sinks kept for
// inspection, like the dead-letter queues: nothing consumes them, so their
// messages stay to the end by design. The lab's queues-empty probe and TF10
// (the broker holdings) leave them out, as they leave out <queue>-dlq.
var InspectionQueues = []string{QueueFaults}

// SLAPartitionQueue names partition n (1-based) of the partitioned variant.
func SLAPartitionQueue(n int) string { return "sla-ticket-changes-partition-" + strconv.Itoa(n) }

// SLA queue layouts (Variant.SLAQueues).
const (
	SLAQueuesChanges      = "changes"        // one queue, sla-ticket-changes (default)
	SLAQueuesTopicPerType = "topic-per-type" // one queue per event type (M14L2)
	SLAQueuesPartitioned  = "partitioned"    // consistent-hash partitions (M14L10/11)
)

// Variant selects the lesson variants of the topology. The zero value is
// the lab's default topology (Ticketflow()).
type Variant struct {
	// TranslationV1 declares request-translation-v1-queue, which nothing
	// consumes: the queue that grows forever (spec §2.3, §12.6 #14).
	TranslationV1 bool
	// SLAQueues is the layout of SLA's ticket-event queues ("" = changes).
	SLAQueues string
	// SLAPartitions is N of the partitioned layout (default 3).
	SLAPartitions int
	// NoSingleActiveConsumer declares SLA's queue(s) without
	// x-single-active-consumer (the original's master; M14L7 added it).
	NoSingleActiveConsumer bool
	// ListenToYourself binds tickets-ticket-created, consumed by Tickets.
	ListenToYourself bool
	// Faults declares the faults exchange and queue (PublishFaultOnFailure).
	Faults bool
}

// Validate reports an unknown layout or a bad partition count.
func (v Variant) Validate() error {
	switch v.SLAQueues {
	case "", SLAQueuesChanges, SLAQueuesTopicPerType, SLAQueuesPartitioned:
	default:
		return fmt.Errorf("sla queues %q: want %s, %s or %s", v.SLAQueues, SLAQueuesChanges, SLAQueuesTopicPerType, SLAQueuesPartitioned)
	}
	if v.SLAPartitions < 0 || v.SLAPartitions > 32 {
		return fmt.Errorf("sla partitions %d: want 1 to 32", v.SLAPartitions)
	}
	return nil
}

// Partitions is the partition count of the partitioned layout.
func (v Variant) Partitions() int {
	if v.SLAPartitions > 0 {
		return v.SLAPartitions
	}
	return 3
}

// SLAQueueTypes lists SLA's ticket-event queues in the variant and the
// types each accepts.
func (v Variant) SLAQueueTypes() map[string][]string {
	switch v.SLAQueues {
	case SLAQueuesTopicPerType:
		return map[string][]string{
			QueueSLATicketQualified: {TypeTicketQualified},
			QueueSLAAgentAssigned:   {TypeAgentAssignedToTicket},
			QueueSLATicketResolved:  {TypeTicketResolved},
		}
	case SLAQueuesPartitioned:
		out := map[string][]string{}
		for n := 1; n <= v.Partitions(); n++ {
			out[SLAPartitionQueue(n)] = TicketEventTypes()
		}
		return out
	}
	return map[string][]string{QueueSLATicketChanges: TicketEventTypes()}
}

// TicketflowWith returns the topology with the variant applied.
func TicketflowWith(v Variant) Topology {
	t := Ticketflow()
	sac := !v.NoSingleActiveConsumer
	if v.SLAQueues != "" && v.SLAQueues != SLAQueuesChanges || !sac {
		t.Queues = slices.DeleteFunc(t.Queues, func(q Queue) bool { return q.Name == QueueSLATicketChanges })
		t.Bindings = slices.DeleteFunc(t.Bindings, func(b Binding) bool { return b.Destination == QueueSLATicketChanges })
		t.Consumers = slices.DeleteFunc(t.Consumers, func(c Consumer) bool { return c.Queue == QueueSLATicketChanges })
		switch v.SLAQueues {
		case SLAQueuesTopicPerType:
			for _, q := range []struct{ name, key, typ string }{
				{QueueSLATicketQualified, KeyTicketQualified, TypeTicketQualified},
				{QueueSLAAgentAssigned, KeyAgentAssigned, TypeAgentAssignedToTicket},
				{QueueSLATicketResolved, KeyTicketResolved, TypeTicketResolved},
			} {
				t.Queues = append(t.Queues, Queue{Name: q.name, SingleActiveConsumer: sac})
				t.Bindings = append(t.Bindings, Binding{Source: ExchangeTickets, Destination: q.name, Key: q.key})
				t.Consumers = append(t.Consumers, Consumer{Service: SLA.Name, Queue: q.name, Accepts: []string{q.typ}, Prefetch: SLAPrefetch})
			}
		case SLAQueuesPartitioned:
			t.Exchanges = append(t.Exchanges, Exchange{Name: ExchangeSLAPartitioned, Kind: KindConsistentHash, HashHeader: HashHeader})
			t.Bindings = append(t.Bindings, Binding{Source: ExchangeTickets, Destination: ExchangeSLAPartitioned, Key: KeyAll, ToExchange: true})
			for n := 1; n <= v.Partitions(); n++ {
				q := SLAPartitionQueue(n)
				t.Queues = append(t.Queues, Queue{Name: q, SingleActiveConsumer: sac})
				// The key of a consistent-hash binding is the partition's weight.
				t.Bindings = append(t.Bindings, Binding{Source: ExchangeSLAPartitioned, Destination: q, Key: "1"})
				t.Consumers = append(t.Consumers, Consumer{Service: SLA.Name, Queue: q, Accepts: TicketEventTypes(), Prefetch: SLAPrefetch})
			}
		default:
			t.Queues = append(t.Queues, Queue{Name: QueueSLATicketChanges, SingleActiveConsumer: sac})
			t.Bindings = append(t.Bindings, Binding{Source: ExchangeTickets, Destination: QueueSLATicketChanges, Key: KeyAll})
			t.Consumers = append(t.Consumers, Consumer{Service: SLA.Name, Queue: QueueSLATicketChanges, Accepts: TicketEventTypes(), Prefetch: SLAPrefetch})
		}
	}
	if v.TranslationV1 {
		t.Queues = append(t.Queues, Queue{Name: QueueRequestTranslationV1})
	}
	if v.ListenToYourself {
		t.Queues = append(t.Queues, Queue{Name: QueueTicketsTicketCreated})
		t.Bindings = append(t.Bindings, Binding{Source: ExchangeTickets, Destination: QueueTicketsTicketCreated, Key: KeyTicketCreated})
		t.Consumers = append(t.Consumers, Consumer{Service: Tickets.Name, Queue: QueueTicketsTicketCreated, Accepts: []string{TypeTicketCreated}, Prefetch: DefaultPrefetch})
	}
	if v.Faults {
		t.Exchanges = append(t.Exchanges, Exchange{Name: ExchangeFaults, Kind: KindTopic})
		t.Queues = append(t.Queues, Queue{Name: QueueFaults})
		t.Bindings = append(t.Bindings, Binding{Source: ExchangeFaults, Destination: QueueFaults, Key: KeyAll})
	}
	return t
}
