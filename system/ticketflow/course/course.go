package course

import (
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
)

// Toggle names: each switches one behaviour of the course's system on.
const (
	NoConfirms      = "no-confirms"
	NoOutbox        = "no-outbox"
	NoDedup         = "no-dedup"
	NoOrdering      = "no-ordering"
	NoIdempotency   = "no-idempotency"
	RequeueForever  = "requeue-forever"
	RemindersAtOnce = "reminders-at-once"
	BlockingIgnored = "blocking-ignored"
	DeadlineMetOrig = "deadline-met-original"

	// Lesson variants (spec §6.3, §6.4, §7.4).
	TranslationV1     = "translation-v1"
	SLATopicPerType   = "sla-topic-per-type"
	SLAPartitioned    = "sla-partitioned"
	NoSingleActive    = "sla-no-single-active-consumer"
	ListenToYourself  = "listen-to-yourself"
	PublishFaultOnErr = "publish-fault-on-failure"
)

// Profile names.
const (
	Fixed  = service.DefaultProfile
	Course = "course"
)

// Variants returns Ticketflow's toggles and profiles (a fresh copy).
func Variants() service.Variants {
	return service.Variants{
		Toggles: []service.Toggle{
			{Name: NoConfirms, Unprotect: []string{"confirms"},
				Doc: "publishes are fire-and-forget (the original's PublisherConfirmsEnabled=false)"},
			{Name: NoOutbox, Unprotect: []string{"outbox"},
				Doc: "handlers publish directly inside the transaction: a rollback leaves a ghost event (Outbox:Enabled=false)"},
			{Name: NoDedup, Unprotect: []string{"dedup"},
				Doc: "no inbox: a redelivered message runs its handler again (Deduplication:Enabled=false)"},
			{Name: NoOrdering, Unprotect: []string{"ordering"},
				Doc: "SLA applies ticket events in arrival order (OutOfOrderDetection:Enabled=false)"},
			{Name: NoIdempotency, Unprotect: []string{"idempotency"},
				Doc: "Communication stores a repeated message or alert again (no idempotency keys)"},
			{Name: RequeueForever, Unprotect: []string{"retries"},
				Doc: "a failing message is nacked with requeue, immediately and forever: the system on fire (BrokerRetriesEnabled=false, spec §7.4)"},
			{Name: RemindersAtOnce, Settings: map[string]string{sla.SettingReminders: "at-once"},
				Doc: "SLA sends all three reminders at the assignment (spec §12.6 #1)"},
			{Name: BlockingIgnored, Settings: map[string]string{sla.SettingBlocking: "ignored"},
				Doc: "SLA ignores TicketBlocked: the SLA clock keeps running (spec §12.6 #6)"},
			{Name: DeadlineMetOrig, Settings: map[string]string{sla.SettingDeadlineMet: "original"},
				Doc: "DeadlineMet is true when the deadline was missed, as the original stored it (spec §12.6 #3)"},
			{Name: TranslationV1, Settings: map[string]string{app.SettingTranslationV1: "on"},
				Doc: "Inquiries also sends RequestTranslationV1 to request-translation-v1-queue, which nobody consumes: the queue grows forever (spec §2.3)"},
			{Name: SLATopicPerType, Settings: map[string]string{app.SettingSLAQueues: contracts.SLAQueuesTopicPerType},
				Doc: "SLA consumes sla-ticket-qualified, sla-agent-assigned and sla-ticket-resolved: one queue per type, no relative order (lesson M14L2)"},
			{Name: SLAPartitioned, Settings: map[string]string{app.SettingSLAQueues: contracts.SLAQueuesPartitioned},
				Doc: "SLA consumes sla-ticket-changes-partition-1..3 behind the consistent-hash exchange on the ticket id: order per ticket with several SLA instances (lessons M14L10/11)"},
			{Name: NoSingleActive, Settings: map[string]string{app.SettingSingleActiveConsumer: "off"},
				Doc: "SLA's queue without x-single-active-consumer: several SLA instances compete for one ticket's events (master before lesson M14L7)"},
			{Name: ListenToYourself, Settings: map[string]string{app.SettingListenToYourself: "on"},
				Doc: "Tickets consumes its own TicketCreated from tickets-ticket-created (spec §6.3)"},
			{Name: PublishFaultOnErr, Settings: map[string]string{app.SettingPublishFault: "on"},
				Doc: "a message given up on (dead-lettered) also goes out as Fault.<T> to the faults queue (PublishFaultOnFailure, spec §7.4)"},
		},
		Profiles: []service.Profile{
			{Name: Fixed, Doc: "every protection on, every quirk fixed (the lab's default)"},
			{Name: Course, Doc: "the course's starting point (master): every protection off, retries as endless requeue, the SLA quirks",
				Toggles: []string{NoConfirms, NoOutbox, NoDedup, NoOrdering, NoIdempotency, RequeueForever,
					RemindersAtOnce, BlockingIgnored, DeadlineMetOrig}},
		},
	}
}
