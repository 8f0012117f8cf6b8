package spec

// The lab's own vocabularies a scenario file may use: action types,
// toxics, process and broker operations, message faults, probes. The names
// of a system under test (services, message types, protections, in-app
// faults) come from its Vocabulary (vocabulary.go).

// Action types (the `type` of a method step).
const (
	TypeNetwork   = "network"   // one Toxiproxy toxic on a service link
	TypeOutage    = "outage"    // one service link down
	TypePartition = "partition" // a named set of links down together
	TypeProcess   = "process"   // kill -9, pause/resume, restart, clock offset
	TypeBroker    = "broker"    // node stop/start, alarms, connection close
	TypeInApp     = "inapp"     // one of the nine Ticketflow anomalies via the service's API
	TypeMessage   = "message"   // an AMQP-aware proxy rule
)

// ActionTypes lists every action type.
var ActionTypes = []string{TypeNetwork, TypeOutage, TypePartition, TypeProcess, TypeBroker, TypeInApp, TypeMessage}

// Toxics are Toxiproxy's toxic types with their attributes (all integers);
// required attributes are listed in ToxicRequired.
var Toxics = map[string][]string{
	"latency":    {"latency", "jitter"},                       // ms
	"bandwidth":  {"rate"},                                    // KB/s
	"slow_close": {"delay"},                                   // ms
	"timeout":    {"timeout"},                                 // ms, 0 = never close
	"reset_peer": {"timeout"},                                 // ms
	"slicer":     {"average_size", "size_variation", "delay"}, // bytes, bytes, µs
	"limit_data": {"bytes"},                                   // bytes
}

// ToxicRequired are the attributes a toxic cannot do without.
var ToxicRequired = map[string][]string{
	"latency":    {"latency"},
	"bandwidth":  {"rate"},
	"slow_close": {"delay"},
	"slicer":     {"average_size"},
	"limit_data": {"bytes"},
}

// Directions of a link: upstream is service → broker, downstream broker → service.
var Directions = []string{"upstream", "downstream", "both"}

// Process operations; "instant" ones take no duration.
var (
	ProcessOps        = []string{"kill", "pause", "resume", "restart", "clock-offset"}
	processInstantOps = []string{"resume", "restart"}
)

// Broker operations.
var (
	BrokerOps        = []string{"stop", "start", "memory-alarm", "disk-alarm", "close-connections"}
	brokerInstantOps = []string{"start", "close-connections"}
)

// MessageFaults are the AMQP-aware proxy's faults (DESIGN §5.2).
var MessageFaults = []string{"duplicate-delivery", "reorder", "drop-ack", "drop-confirm", "delay-confirm",
	"duplicate-publish", "channel-close"}

// renamedMessageFaults are former message fault names, each with the name
// that replaced it.
var renamedMessageFaults = map[string]string{"reorder-deliveries": "reorder", "close-channel": "channel-close"}

// Probes are the steady-state checks.
var Probes = []string{
	"services-healthy", // every service answers its health endpoint
	"broker-healthy",   // the broker answers and raises no alarm
	"queues-empty",     // every service queue drained (ready + unacked = 0)
	"end-to-end",       // one fresh inquiry travels to a linked ticket in time
	"min-throughput",   // handled messages per second during the method ≥ min
}
