package contracts

import (
	"reflect"
	"slices"
	"testing"
)

func queueNamed(t Topology, name string) (Queue, bool) {
	i := slices.IndexFunc(t.Queues, func(q Queue) bool { return q.Name == name })
	if i < 0 {
		return Queue{}, false
	}
	return t.Queues[i], true
}

// Every variant is a valid topology whose SLA consumers are exactly
// SLAQueueTypes, and the zero variant is the default topology.
func TestVariantsAreValidTopologies(t *testing.T) {
	if !reflect.DeepEqual(TicketflowWith(Variant{}), Ticketflow()) {
		t.Fatal("the zero variant differs from Ticketflow()")
	}
	for _, v := range []Variant{
		{}, {TranslationV1: true}, {SLAQueues: SLAQueuesTopicPerType}, {SLAQueues: SLAQueuesPartitioned, SLAPartitions: 4},
		{NoSingleActiveConsumer: true}, {ListenToYourself: true}, {Faults: true},
	} {
		topo := TicketflowWith(v)
		if err := topo.Validate(); err != nil {
			t.Errorf("%+v: %v", v, err)
		}
		got := map[string][]string{}
		for _, c := range topo.Consumers {
			if c.Service == SLA.Name {
				got[c.Queue] = c.Accepts
			}
		}
		if !reflect.DeepEqual(got, v.SLAQueueTypes()) {
			t.Errorf("%+v: SLA consumes %v, SLAQueueTypes says %v", v, got, v.SLAQueueTypes())
		}
	}
}

func TestVariantTopologies(t *testing.T) {
	def := Ticketflow()
	if q, _ := queueNamed(def, QueueSLATicketChanges); !q.SingleActiveConsumer {
		t.Error("default: sla-ticket-changes without single active consumer")
	}
	if q, _ := queueNamed(TicketflowWith(Variant{NoSingleActiveConsumer: true}), QueueSLATicketChanges); q.SingleActiveConsumer || q.Name == "" {
		t.Errorf("single active consumer off: %+v", q)
	}
	for name, v := range map[string]Variant{QueueRequestTranslationV1: {TranslationV1: true}, QueueTicketsTicketCreated: {ListenToYourself: true}, QueueFaults: {Faults: true}} {
		if _, ok := queueNamed(def, name); ok {
			t.Errorf("default declares %s", name)
		}
		if _, ok := queueNamed(TicketflowWith(v), name); !ok {
			t.Errorf("%+v does not declare %s", v, name)
		}
	}
	if _, ok := TicketflowWith(Variant{TranslationV1: true}).ConsumerFor(QueueRequestTranslationV1); ok {
		t.Error("somebody consumes request-translation-v1-queue")
	}
	p := TicketflowWith(Variant{SLAQueues: SLAQueuesPartitioned})
	if _, ok := queueNamed(p, QueueSLATicketChanges); ok {
		t.Error("partitioned still declares sla-ticket-changes")
	}
	i := slices.IndexFunc(p.Exchanges, func(e Exchange) bool { return e.Name == ExchangeSLAPartitioned })
	if i < 0 || p.Exchanges[i].Kind != KindConsistentHash || p.Exchanges[i].HashHeader != HashHeader {
		t.Fatalf("partitioned exchange: %+v", p.Exchanges)
	}
	for n := 1; n <= 3; n++ {
		if q, ok := queueNamed(p, SLAPartitionQueue(n)); !ok || !q.SingleActiveConsumer {
			t.Errorf("partition %d: %+v", n, q)
		}
	}
	if err := (Variant{SLAQueues: "sharded"}).Validate(); err == nil {
		t.Error("an unknown layout was accepted")
	}
	if _, err := ForServiceWith(SLA, "sla", Variant{SLAQueues: "sharded"}); err == nil {
		t.Error("ForServiceWith accepted an invalid variant")
	}
}
