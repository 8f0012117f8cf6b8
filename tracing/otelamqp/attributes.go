package otelamqp

import "go.opentelemetry.io/otel/attribute"

// OTel messaging semantic-convention keys (stable names as of semconv 1.26+),
// spelled out here so that tracing depends on otel and amqp091 only.
const (
	MessagingSystem              = attribute.Key("messaging.system")           // "rabbitmq"
	MessagingOperationType       = attribute.Key("messaging.operation.type")   // "publish" | "process" | "receive" | "settle"
	MessagingOperationName       = attribute.Key("messaging.operation.name")   // "publish" | "process"
	MessagingDestinationName     = attribute.Key("messaging.destination.name") // exchange (publish) or queue (process)
	MessagingMessageID           = attribute.Key("messaging.message.id")       // AMQP message_id
	MessagingConversationID      = attribute.Key("messaging.message.conversation_id")
	MessagingBodySize            = attribute.Key("messaging.message.body.size")
	MessagingRoutingKey          = attribute.Key("messaging.rabbitmq.destination.routing_key")
	MessagingDeliveryTag         = attribute.Key("messaging.rabbitmq.message.delivery_tag")
	MessagingConsumerGroupName   = attribute.Key("messaging.consumer.group.name")
	MessagingClientID            = attribute.Key("messaging.client.id")
	MessagingSystemRabbitMQValue = "rabbitmq"
)

// Lab attributes: what the protections decided and what the handler did.
// Checkers in scenarios/ read these names; changing one is a breaking change.
const (
	LabService        = attribute.Key("lab.service")           // service name, e.g. "tickets"
	LabInstance       = attribute.Key("lab.instance")          // service instance id
	LabMessageType    = attribute.Key("lab.message.type")      // AMQP type, e.g. "TicketCreated"
	LabAggregateID    = attribute.Key("lab.aggregate.id")      // aggregate id header
	LabAggregateVer   = attribute.Key("lab.aggregate.version") // aggregate version header
	LabCausationID    = attribute.Key("lab.causation.id")      // message id that caused this one
	LabDedupOutcome   = attribute.Key("lab.dedup.outcome")     // "processed" | "duplicate" | "off"
	LabOrderOutcome   = attribute.Key("lab.order.outcome")     // "applied" | "stale" | "early" | "off"
	LabRedelivered    = attribute.Key("lab.redelivered")       // bool, AMQP redelivered flag
	LabAttempt        = attribute.Key("lab.attempt")           // int, 1 for the first handling
	LabEffectKeys     = attribute.Key("lab.effect.keys")       // []string, idempotency keys of side effects
	LabOutcome        = attribute.Key("lab.outcome")           // "acked" | "retried" | "dead-lettered" | "unknown-type" | "failed"
	LabPublishVia     = attribute.Key("lab.publish.via")       // "outbox" | "direct"
	LabConfirmOutcome = attribute.Key("lab.confirm.outcome")   // "ack" | "nack" | "timeout" | "off"
	LabRepublish      = attribute.Key("lab.publish.republish") // int, 0 for the first publish attempt
)

// Outcome values.
const (
	DedupProcessed = "processed"
	DedupDuplicate = "duplicate"
	DedupOff       = "off"

	OrderApplied = "applied"
	OrderStale   = "stale"
	OrderEarly   = "early"
	OrderOff     = "off"
)

// Values of LabOutcome on handling spans (appended by system/messaging).
const (
	OutcomeAcked        = "acked"         // handled, or skipped as duplicate/stale, then acked
	OutcomeRetried      = "retried"       // a copy went to the retry queue, the delivery was acked
	OutcomeDeadLettered = "dead-lettered" // a copy went to the dead-letter queue, the delivery was acked
	OutcomeUnknownType  = "unknown-type"  // no handler for the type: acked and dropped
	OutcomeRequeued     = "requeued"      // retries off: nacked with requeue
	OutcomeFailed       = "failed"        // the retry copy could not be published: nacked with requeue
)

// Values of LabPublishVia and LabConfirmOutcome on publish spans (appended by system/messaging).
const (
	ViaOutbox     = "outbox"      // relayed from the outbox table
	ViaDirect     = "direct"      // published directly (outbox off, or transient traffic)
	ViaRetry      = "retry"       // a failed message's copy to the retry queue
	ViaDeadLetter = "dead-letter" // a poison message's copy to the dead-letter queue

	ConfirmAck     = "ack"
	ConfirmNack    = "nack"
	ConfirmTimeout = "timeout"
	ConfirmOff     = "off" // confirms protection off: fire-and-forget
)

// LabTxOutcome says whether the store transaction of a handling or an HTTP
// command committed; the no-ghost-events check (TF7) looks for publishes
// whose writing transaction rolled back. Absent when no transaction ran
// (the handling failed before it began).
const LabTxOutcome = attribute.Key("lab.tx.outcome")

// Values of LabTxOutcome.
const (
	TxCommitted  = "committed"
	TxRolledBack = "rolled-back"
)

// LabCommand names the command of a command span (an HTTP command or a
// scheduler round that runs its own transaction), e.g. "QualifyTicket".
const LabCommand = attribute.Key("lab.command")
