package history

// EventAttributes maps each Event JSON field to the span attribute it is read
// from (tracing/otelamqp). The span adapter uses it; a test keeps it in step
// with otelamqp so that a renamed attribute breaks the build of the checks,
// not their verdicts.
var EventAttributes = map[string]string{
	"service":          "lab.service",
	"instance":         "lab.instance",
	"messageId":        "messaging.message.id",
	"messageType":      "lab.message.type",
	"correlationId":    "messaging.message.conversation_id",
	"causationId":      "lab.causation.id",
	"destination":      "messaging.destination.name",
	"routingKey":       "messaging.rabbitmq.destination.routing_key",
	"aggregateId":      "lab.aggregate.id",
	"aggregateVersion": "lab.aggregate.version",
	"redelivered":      "lab.redelivered",
	"attempt":          "lab.attempt",
	"dedup":            "lab.dedup.outcome",
	"order":            "lab.order.outcome",
	"outcome":          "lab.outcome",
	"effectKeys":       "lab.effect.keys",
	"via":              "lab.publish.via",
	"confirm":          "lab.confirm.outcome",
	"republish":        "lab.publish.republish",
	"kind":             "messaging.operation.type",
	"tx":               "lab.tx.outcome", // proposed: not in otelamqp yet
}
