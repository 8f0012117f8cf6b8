package history

import (
	"time"
)

// SchemaVersion is the version of the serialized history (run.json + events.jsonl).
// Bump it on any change that an older reader would misread (2: the
// workload as generic records, the system's own snapshot under "system").
const SchemaVersion = 2

// History is everything the checkers need to decide a run: what the scenario
// expected, what the workload asked for, every publish and handling span, the
// faults as executed, the services' databases at quiescence and the counters
// the runner observed. It is plain data: no methods reach the network.
type History struct {
	Meta Meta `json:"meta"`
	// Records are what the system's workload and end-to-end probes asked
	// of it (sut.System.Workload, Probe), in the order they were made.
	Records []Record `json:"workload"`
	// Events are the spans of the run, ordered by Start. They are stored in a
	// separate JSON-lines file (events.jsonl) so that a million spans stream.
	Events []Event `json:"-"`
	// Table holds the events instead of Events, in a compact form, when a
	// large history is loaded for judging (LoadTable); Events is then empty.
	// NumEvents, EventAt and AllEvents read either.
	Table    *EventTable        `json:"-"`
	Faults   []Fault            `json:"faults"`
	Snapshot Snapshot           `json:"snapshot"`
	Counters map[string]float64 `json:"counters,omitempty"` // runner-observed counters (see Counters)
	// Probes are the steady-state checks before the faults and after the
	// settle, as the runner ran them.
	Probes []Probe `json:"probes,omitempty"`
}

// Probe phases.
const (
	ProbeBefore = "before"
	ProbeAfter  = "after"
)

// Probe is one steady-state check as run (Chaos Toolkit's hypothesis).
type Probe struct {
	Phase  string    `json:"phase"` // before | after
	Name   string    `json:"name"`  // services-healthy, broker-healthy, queues-empty, end-to-end, min-throughput
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
	Took   Duration  `json:"took,omitempty"`
}

// Meta says what the run was and what it had to show. It is copied from the
// scenario plan so that a saved run can be judged again without the scenario file.
type Meta struct {
	SchemaVersion int    `json:"schemaVersion"`
	Scenario      string `json:"scenario"`
	// System is the system under test ("" in a history saved before it
	// was recorded: ticketflow).
	System      string `json:"system,omitempty"`
	Description string `json:"description,omitempty"`
	// Control is true for a negative-control run (protections switched off,
	// a named violation expected).
	Control bool  `json:"control,omitempty"`
	Seed    int64 `json:"seed"`
	// Protections maps protection → service → on.
	Protections map[string]map[string]bool `json:"protections"`
	// Invariants lists the invariant ids checked; empty means all.
	Invariants []string      `json:"invariants,omitempty"`
	Expect     Expectation   `json:"expect"`
	Evidence   []Requirement `json:"evidence,omitempty"`
	Limits     Limits        `json:"limits"`
	// Broker describes the broker the run used; nil for a run saved before
	// it was recorded (read as one node with classic queues).
	Broker *BrokerMeta `json:"broker,omitempty"`
	Start  time.Time   `json:"start"` // base time: offsets in reports are relative to it
	End    time.Time   `json:"end"`   // quiescence: when the snapshot was taken
}

// BrokerMeta is the broker of a run: how many nodes, which queue type the
// services declared and the cluster's partition handling.
type BrokerMeta struct {
	Nodes             int    `json:"nodes"`
	QueueType         string `json:"queueType,omitempty"`         // classic (default), mirrored or quorum
	PartitionHandling string `json:"partitionHandling,omitempty"` // ignore (default), pause_minority or autoheal
}

// Cluster reports whether the run's broker had more than one node.
func (m Meta) Cluster() bool { return m.Broker != nil && m.Broker.Nodes > 1 }

// Expectation is what the run must show: nothing violated (Violated empty), or
// at least the named invariants violated (a negative control).
type Expectation struct {
	Violated []string `json:"violated,omitempty"`
}

// Pass reports whether the expectation is "every invariant holds".
func (e Expectation) Pass() bool { return len(e.Violated) == 0 }

// Limits are the system settings the checkers judge against.
type Limits struct {
	// MaxAttempts is the number of failed handlings a message may see in one
	// service before it must be dead-lettered (retries limit + 1). 0 means 4.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// ClockTolerance is how far a stored timestamp may be from the true time
	// (the lab's clock, the spans' clock) before it counts as wrong. 0 means 2 s.
	ClockTolerance Duration `json:"clockTolerance,omitempty"`
}

// MaxAttemptsOrDefault returns MaxAttempts, or 4 when unset.
func (l Limits) MaxAttemptsOrDefault() int {
	if l.MaxAttempts <= 0 {
		return 4
	}
	return l.MaxAttempts
}

// ClockToleranceOrDefault returns ClockTolerance, or 2 s when unset.
func (l Limits) ClockToleranceOrDefault() time.Duration {
	if l.ClockTolerance <= 0 {
		return 2 * time.Second
	}
	return time.Duration(l.ClockTolerance)
}

// Event kinds. They follow messaging.operation.type where one applies.
const (
	KindPublish = "publish" // a message handed to the broker (direct or by the outbox relay)
	KindCreate  = "create"  // a message written to the outbox (not yet on the broker)
	KindProcess = "process" // one handling of one delivery
	KindCommand = "command" // one HTTP command execution (qualify, resolve, submit, …)
	KindOther   = "other"   // any other span of a flow (HTTP client/server, relay loop)
)

// Handling outcomes (lab.outcome).
const (
	OutcomeAcked        = "acked"
	OutcomeRetried      = "retried"
	OutcomeDeadLettered = "dead-lettered"
	OutcomeUnknownType  = "unknown-type"
	OutcomeRequeued     = "requeued" // retries off: nacked with requeue (the original's endless loop)
	OutcomeFailed       = "failed"
)

// Publish routes and confirm outcomes (lab.publish.via, lab.confirm.outcome).
const (
	ViaOutbox     = "outbox"      // relayed from the outbox table
	ViaDirect     = "direct"      // published directly
	ViaRetry      = "retry"       // a failed message's copy to the retry queue
	ViaDeadLetter = "dead-letter" // a poison message's copy to the dead-letter queue

	ConfirmAck     = "ack"
	ConfirmNack    = "nack"
	ConfirmTimeout = "timeout"
	ConfirmOff     = "off"
)

// Dedup and order outcomes (lab.dedup.outcome, lab.order.outcome).
const (
	DedupProcessed = "processed"
	DedupDuplicate = "duplicate"
	DedupOff       = "off"

	OrderApplied = "applied"
	OrderStale   = "stale"
	OrderEarly   = "early"
	OrderOff     = "off"
)

// Event is one span, flattened. Each field maps 1:1 to a span attribute of
// tracing/otelamqp (see AttributeOf); fields a span did not carry stay zero.
type Event struct {
	Kind     string    `json:"kind"`
	Name     string    `json:"name,omitempty"` // span name
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	TraceID  TraceID   `json:"traceId"`
	SpanID   SpanID    `json:"spanId"`
	ParentID SpanID    `json:"parentId,omitzero"`

	Service  string `json:"service,omitempty"`  // lab.service
	Instance string `json:"instance,omitempty"` // lab.instance

	MessageID     string `json:"messageId,omitempty"`     // messaging.message.id
	MessageType   string `json:"messageType,omitempty"`   // lab.message.type
	CorrelationID string `json:"correlationId,omitempty"` // messaging.message.conversation_id
	CausationID   string `json:"causationId,omitempty"`   // lab.causation.id
	Destination   string `json:"destination,omitempty"`   // messaging.destination.name (exchange or queue)
	RoutingKey    string `json:"routingKey,omitempty"`    // messaging.rabbitmq.destination.routing_key

	AggregateID      string `json:"aggregateId,omitempty"`      // lab.aggregate.id
	AggregateVersion int64  `json:"aggregateVersion,omitempty"` // lab.aggregate.version

	Redelivered bool     `json:"redelivered,omitempty"` // lab.redelivered
	Attempt     int      `json:"attempt,omitempty"`     // lab.attempt (1 = first handling)
	Dedup       string   `json:"dedup,omitempty"`       // lab.dedup.outcome
	Order       string   `json:"order,omitempty"`       // lab.order.outcome
	Outcome     string   `json:"outcome,omitempty"`     // lab.outcome
	EffectKeys  []string `json:"effectKeys,omitempty"`  // lab.effect.keys
	// Tx is "committed" or "rolled-back" when the span says whether the
	// execution's transaction committed (proposed lab.tx.outcome); empty means
	// the outcome decides (acked = committed).
	Tx string `json:"tx,omitempty"`

	PublishVia string `json:"via,omitempty"`       // lab.publish.via
	Confirm    string `json:"confirm,omitempty"`   // lab.confirm.outcome
	Republish  int    `json:"republish,omitempty"` // lab.publish.republish

	Error string `json:"error,omitempty"` // span status description when the span failed
}

// Transaction outcomes (Event.Tx).
const (
	TxCommitted  = "committed"
	TxRolledBack = "rolled-back"
)

// Committed reports whether a handling applied its writes: its transaction
// committed (Tx, else an acked outcome) and it was neither skipped by dedup
// nor by the ordering guard.
func (e *Event) Committed() bool {
	if e.Kind != KindProcess && e.Kind != KindCommand {
		return false
	}
	if e.Dedup == DedupDuplicate || e.Order == OrderStale || e.Order == OrderEarly {
		return false
	}
	if e.Tx != "" {
		return e.Tx == TxCommitted
	}
	return e.Outcome == OutcomeAcked
}

// RolledBack reports whether an execution ended without committing its
// writes: Tx says so, or (without Tx) it failed, was retried or dead-lettered.
// A failure after the commit is only told apart when Tx is recorded.
func (e *Event) RolledBack() bool { return rolledBack(e.Kind, e.Tx, e.Outcome) }

func rolledBack(kind, tx, outcome string) bool {
	if kind != KindProcess && kind != KindCommand {
		return false
	}
	if tx != "" {
		return tx == TxRolledBack
	}
	return failedOutcome(outcome)
}

// Failed reports whether a handling failed: retried, requeued, failed or
// dead-lettered.
func (e *Event) Failed() bool { return failedOutcome(e.Outcome) }

func failedOutcome(outcome string) bool {
	switch outcome {
	case OutcomeFailed, OutcomeRetried, OutcomeRequeued, OutcomeDeadLettered:
		return true
	}
	return false
}

// BusinessPublish reports whether a publish carries a message of the system
// (direct or from the outbox), not the messaging layer's copy of a failing
// message to its retry or dead-letter queue.
func (e *Event) BusinessPublish() bool {
	return e.Kind == KindPublish && e.PublishVia != ViaRetry && e.PublishVia != ViaDeadLetter
}

// Fault is one fault step as the runner executed it.
type Fault struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`             // network | outage | partition | process | broker | inapp | message
	Op     string            `json:"op,omitempty"`     // toxic, process/broker op, anomaly or message fault
	Target string            `json:"target,omitempty"` // link, service, node…
	Params map[string]string `json:"params,omitempty"`
	// PlannedAt is the step's offset from Meta.Start as scheduled (after jitter).
	PlannedAt Duration `json:"plannedAt"`
	// When is the event the step waited for ("" for a step on the clock
	// alone); NeverFired records that it never came, so the step was not
	// applied.
	When       string `json:"when,omitempty"`
	NeverFired bool   `json:"neverFired,omitempty"`
	// Until is the condition that heals the step, once it holds after the
	// step fired and its duration has passed ("" for a step healed on the
	// clock alone); UntilNeverHeld records that it had not held by the
	// give-up time, which healed the step then.
	Until          string    `json:"until,omitempty"`
	UntilNeverHeld bool      `json:"untilNeverHeld,omitempty"`
	Started        time.Time `json:"started,omitzero"` // when the step fired and its injection began
	// InForce is when the injection returned, the fault in force (a broker
	// alarm's injection returns once the broker reports the alarm); the
	// step's duration counts from it.
	InForce   time.Time `json:"inForce,omitzero"`
	Healed    time.Time `json:"healed,omitzero"` // zero when it never needed or got a heal
	Error     string    `json:"error,omitempty"`
	HealError string    `json:"healError,omitempty"`
}

// Applied reports whether the fault was injected without error.
func (f Fault) Applied() bool { return !f.Started.IsZero() && f.Error == "" }

// Snapshot holds what the run left behind at quiescence: the system's own
// snapshot of its services' databases, the dead letters and the broker's
// holdings.
type Snapshot struct {
	At          time.Time    `json:"at"`
	DeadLetters []DeadLetter `json:"deadLetters"` // every dead-letter queue, drained at the end
	// System is the system's own snapshot (sut.System.Snapshot); zero
	// when the system keeps none or it was not taken.
	System SystemSnapshot `json:"system,omitzero"`
	// Holdings is what the broker still held at the end; nil when not recorded.
	Holdings *Holdings `json:"holdings,omitempty"`
}

// DeadLetter is one message found in a dead-letter queue (or the services'
// dead-letter records) at the end of the run.
type DeadLetter struct {
	Service     string    `json:"service"`
	Queue       string    `json:"queue"`
	MessageID   string    `json:"messageId"`
	MessageType string    `json:"messageType,omitempty"`
	Reason      string    `json:"reason,omitempty"` // x-death reason: rejected | expired | maxlen
	Count       int       `json:"count,omitempty"`
	At          time.Time `json:"at,omitzero"`
}
