package contracts

import (
	"encoding/json"
	"time"
)

// Message is any Ticketflow message; its type name is the AMQP `type`.
type Message interface {
	MessageType() string
}

// Versioned is a message about one aggregate at one version. The messaging
// layer copies these into the aggregate id/version headers and the ordering
// guard compares them.
type Versioned interface {
	Message
	AggregateID() string
	AggregateVersion() int
}

// Alert is a message that Communication stores as an alert. The consumer reads
// only these fields (ProducerAgnosticAlertMessage), so it does not depend on
// the producer's contract (spec §4, alerts note).
type Alert interface {
	Message
	Alert() ProducerAgnosticAlertMessage
}

// ---- Inquiries -------------------------------------------------------------

// InquirySubmitted is published by Inquiries when a customer files an inquiry.
// Its id becomes the ticket id.
type InquirySubmitted struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	Category     Category  `json:"category"`
	LanguageCode string    `json:"languageCode"`
	CreatedAt    time.Time `json:"createdAt"`
}

// MessageType implements Message.
func (InquirySubmitted) MessageType() string { return TypeInquirySubmitted }

// AggregateID is the inquiry id; an inquiry is submitted once (version 1).
func (m InquirySubmitted) AggregateID() string { return m.ID }

// AggregateVersion is always 1.
func (InquirySubmitted) AggregateVersion() int { return 1 }

// RequestTranslationV1 is the original's first translation command. Nothing
// consumed it on master; this port does not publish it (see package doc) but
// keeps the contract.
type RequestTranslationV1 struct {
	Text     string `json:"text"`
	TicketID string `json:"ticketId"` // actually the inquiry id
}

// MessageType implements Message.
func (RequestTranslationV1) MessageType() string { return TypeRequestTranslationV1 }

// RequestTranslationV2 asks Translations to translate an inquiry's description.
type RequestTranslationV2 struct {
	Text         string `json:"text"`
	LanguageCode string `json:"languageCode"`
	ReferenceID  string `json:"referenceId"` // inquiry id = ticket id
}

// MessageType implements Message.
func (RequestTranslationV2) MessageType() string { return TypeRequestTranslationV2 }

// ---- Translations ----------------------------------------------------------

// TranslationCompleted carries the English text of an inquiry description.
type TranslationCompleted struct {
	OriginalText   string `json:"originalText"`
	TranslatedText string `json:"translatedText"`
	ReferenceID    string `json:"referenceId"`
}

// MessageType implements Message.
func (TranslationCompleted) MessageType() string { return TypeTranslationCompleted }

// TranslationSkipped says no translation will come for the reference.
type TranslationSkipped struct {
	OriginalText string `json:"originalText"`
	ReferenceID  string `json:"referenceId"`
	// Reason is a lab extension ("empty result", "unsupported language ...").
	Reason string `json:"reason,omitempty"`
}

// MessageType implements Message.
func (TranslationSkipped) MessageType() string { return TypeTranslationSkipped }

// ---- Tickets ---------------------------------------------------------------
//
// Every ticket event carries the ticket id, the aggregate version after the
// event, and partitionKey (= ticket id, the original's computed property).
// Fields marked "extension" are additions of this port: the original
// consumers ignored unknown fields, so the shapes are supersets.

// TicketCreated is the first event of a ticket (version 1).
type TicketCreated struct {
	ID           string       `json:"id"`
	InquiryID    string       `json:"inquiryId"`
	Name         string       `json:"name"`
	Email        string       `json:"email"`
	Title        string       `json:"title"`
	Description  string       `json:"description"`
	Category     Category     `json:"category"`
	LanguageCode string       `json:"languageCode"`
	Version      int          `json:"version"`
	PartitionKey string       `json:"partitionKey"`
	Status       TicketStatus `json:"status,omitempty"`   // extension
	CreatedAt    time.Time    `json:"createdAt,omitzero"` // extension
}

// MessageType implements Message.
func (TicketCreated) MessageType() string { return TypeTicketCreated }

// AggregateID implements Versioned.
func (m TicketCreated) AggregateID() string { return m.ID }

// AggregateVersion implements Versioned.
func (m TicketCreated) AggregateVersion() int { return m.Version }

// TicketQualified is published when a supervisor qualifies a ticket.
type TicketQualified struct {
	TicketID      string       `json:"ticketId"`
	Version       int          `json:"version"`
	PartitionKey  string       `json:"partitionKey"`
	Status        TicketStatus `json:"status,omitempty"`        // extension
	Type          TicketType   `json:"type,omitempty"`          // extension: what SLA read over HTTP
	SeverityLevel Severity     `json:"severityLevel,omitempty"` // extension
	Email         string       `json:"email,omitempty"`         // extension
	CreatedAt     time.Time    `json:"createdAt,omitzero"`      // extension
}

// MessageType implements Message.
func (TicketQualified) MessageType() string { return TypeTicketQualified }

// AggregateID implements Versioned.
func (m TicketQualified) AggregateID() string { return m.TicketID }

// AggregateVersion implements Versioned.
func (m TicketQualified) AggregateVersion() int { return m.Version }

// IncidentCreated is an alert raised when a ticket is qualified as an incident.
type IncidentCreated struct {
	TicketID            string       `json:"ticketId"`
	Version             int          `json:"version"`
	PartitionKey        string       `json:"partitionKey"`
	AlertMessageContent string       `json:"alertMessageContent"`
	AlertType           AlertType    `json:"alertType"`
	Status              TicketStatus `json:"status,omitempty"`   // extension
	AlertKey            string       `json:"alertKey,omitempty"` // extension: idempotency key of the alert effect
}

// MessageType implements Message.
func (IncidentCreated) MessageType() string { return TypeIncidentCreated }

// AggregateID implements Versioned.
func (m IncidentCreated) AggregateID() string { return m.TicketID }

// AggregateVersion implements Versioned.
func (m IncidentCreated) AggregateVersion() int { return m.Version }

// Alert implements Alert.
func (m IncidentCreated) Alert() ProducerAgnosticAlertMessage {
	return ProducerAgnosticAlertMessage{AlertMessageContent: m.AlertMessageContent, AlertType: m.AlertType, AlertKey: m.AlertKey}
}

// AgentAssignedToTicket is published when an agent takes a ticket.
type AgentAssignedToTicket struct {
	TicketID            string       `json:"ticketId"`
	Version             int          `json:"version"`
	PartitionKey        string       `json:"partitionKey"`
	Status              TicketStatus `json:"status,omitempty"`              // extension
	AssignedAgentUserID string       `json:"assignedAgentUserId,omitempty"` // extension
}

// MessageType implements Message.
func (AgentAssignedToTicket) MessageType() string { return TypeAgentAssignedToTicket }

// AggregateID implements Versioned.
func (m AgentAssignedToTicket) AggregateID() string { return m.TicketID }

// AggregateVersion implements Versioned.
func (m AgentAssignedToTicket) AggregateVersion() int { return m.Version }

// TicketBlocked is published when work on a ticket is blocked.
type TicketBlocked struct {
	TicketID     string       `json:"ticketId"`
	Version      int          `json:"version"`
	PartitionKey string       `json:"partitionKey"`
	Status       TicketStatus `json:"status,omitempty"` // extension
	Reason       string       `json:"reason,omitempty"` // extension
}

// MessageType implements Message.
func (TicketBlocked) MessageType() string { return TypeTicketBlocked }

// AggregateID implements Versioned.
func (m TicketBlocked) AggregateID() string { return m.TicketID }

// AggregateVersion implements Versioned.
func (m TicketBlocked) AggregateVersion() int { return m.Version }

// TicketUnblocked is new in this port: the original published TicketQualified
// on unblock (spec §12.6 #7), which SLA could not tell from a qualification.
type TicketUnblocked struct {
	TicketID     string       `json:"ticketId"`
	Version      int          `json:"version"`
	PartitionKey string       `json:"partitionKey"`
	Status       TicketStatus `json:"status,omitempty"`
	Reason       string       `json:"reason,omitempty"`
}

// MessageType implements Message.
func (TicketUnblocked) MessageType() string { return TypeTicketUnblocked }

// AggregateID implements Versioned.
func (m TicketUnblocked) AggregateID() string { return m.TicketID }

// AggregateVersion implements Versioned.
func (m TicketUnblocked) AggregateVersion() int { return m.Version }

// TicketResolved is published once, when the ticket is resolved.
type TicketResolved struct {
	TicketID            string       `json:"ticketId"`
	Version             int          `json:"version"`
	PartitionKey        string       `json:"partitionKey"`
	Status              TicketStatus `json:"status,omitempty"`              // extension
	Resolution          string       `json:"resolution,omitempty"`          // extension: what Communication read over HTTP
	Email               string       `json:"email,omitempty"`               // extension
	AssignedAgentUserID string       `json:"assignedAgentUserId,omitempty"` // extension
}

// MessageType implements Message.
func (TicketResolved) MessageType() string { return TypeTicketResolved }

// AggregateID implements Versioned.
func (m TicketResolved) AggregateID() string { return m.TicketID }

// AggregateVersion implements Versioned.
func (m TicketResolved) AggregateVersion() int { return m.Version }

// ---- SLA -------------------------------------------------------------------

// DeadlinesCalculated tells Tickets the deadline of a ticket.
type DeadlinesCalculated struct {
	ServiceType     ServiceType `json:"serviceType"`
	ServiceSourceID string      `json:"serviceSourceId"` // ticket id
	DeadlineUTC     time.Time   `json:"deadlineUtc"`
	// Revision is an extension: 1 for the first calculation, +1 each time the
	// deadline moves (unblock shifts it). It is this message's aggregate
	// version, so a stale deadline never overwrites a newer one.
	Revision int `json:"revision,omitempty"`
}

// MessageType implements Message.
func (DeadlinesCalculated) MessageType() string { return TypeDeadlinesCalculated }

// AggregateID implements Versioned (the SLA record is keyed by ticket id).
func (m DeadlinesCalculated) AggregateID() string { return m.ServiceSourceID }

// AggregateVersion implements Versioned.
func (m DeadlinesCalculated) AggregateVersion() int { return m.Revision }

// SLABreached is the alert raised while a deadline stays missed.
type SLABreached struct {
	ServiceType         ServiceType `json:"serviceType"`
	ServiceSourceID     string      `json:"serviceSourceId"`
	AlertMessageContent string      `json:"alertMessageContent"`
	AlertType           AlertType   `json:"alertType"`
	AlertKey            string      `json:"alertKey,omitempty"` // extension: "breach:<ticket>:<n>"
}

// MessageType implements Message.
func (SLABreached) MessageType() string { return TypeSLABreached }

// Alert implements Alert.
func (m SLABreached) Alert() ProducerAgnosticAlertMessage {
	return ProducerAgnosticAlertMessage{AlertMessageContent: m.AlertMessageContent, AlertType: m.AlertType, AlertKey: m.AlertKey}
}

// ---- Communication ---------------------------------------------------------

// ProducerAgnosticAlertMessage is how Communication reads any alert.
type ProducerAgnosticAlertMessage struct {
	AlertMessageContent string    `json:"alertMessageContent"`
	AlertType           AlertType `json:"alertType"`
	AlertKey            string    `json:"alertKey,omitempty"`
}

// MessageType implements Message.
func (ProducerAgnosticAlertMessage) MessageType() string { return TypeProducerAgnosticAlert }

// Alert implements Alert.
func (m ProducerAgnosticAlertMessage) Alert() ProducerAgnosticAlertMessage { return m }

// ---- Metrics ---------------------------------------------------------------

// MetricTick is one health sample of one service instance. The original
// fields feed the desk's status widget; the rest are lab extensions.
type MetricTick struct {
	Name        string        `json:"name"` // AppName
	Status      HealthStatus  `json:"status"`
	LastChecked time.Time     `json:"lastChecked"`
	Metrics     HealthMetrics `json:"metrics"`
	Instance    string        `json:"instance,omitempty"` // extension
	Messages    *MessageStats `json:"messages,omitempty"` // extension
	Queues      []QueueDepth  `json:"queues,omitempty"`   // extension
}

// MessageType implements Message.
func (MetricTick) MessageType() string { return TypeMetricTick }

// HealthMetrics is the original metrics object.
type HealthMetrics struct {
	CPU    CPUMetric    `json:"cpu"`
	Memory MemoryMetric `json:"memory"`
}

// CPUMetric: process CPU usage in percent of one core.
type CPUMetric struct {
	Usage float64 `json:"usage"`
}

// MemoryMetric: resident memory and total, in MB.
type MemoryMetric struct {
	Used  float64 `json:"used"`
	Total float64 `json:"total"`
}

// MessageStats counts messages handled by the instance since it started.
type MessageStats struct {
	Handled int64 `json:"handled"`
	Failed  int64 `json:"failed"`
}

// QueueDepth is the ready-message count of a queue the instance consumes.
type QueueDepth struct {
	Name  string `json:"name"`
	Depth int    `json:"depth"`
}

// ---- Anomalies -------------------------------------------------------------

// AnomalyEventWrapper synchronises anomaly state between instances of one
// app. Exactly one of Enabled and Disabled is set.
type AnomalyEventWrapper struct {
	Enabled  *AnomalyEnabled  `json:"enabled"`
	Disabled *AnomalyDisabled `json:"disabled"`
}

// MessageType implements Message.
func (AnomalyEventWrapper) MessageType() string { return TypeAnomalyEventWrapper }

// AnomalyEnabled is the sync form of POST /anomalies.
type AnomalyEnabled struct {
	AnomalyType      string            `json:"anomalyType"`
	MessageType      string            `json:"messageType"`
	AdditionalParams map[string]string `json:"additionalParams"`
}

// AnomalyDisabled is the sync form of DELETE /anomalies/{type}/messages/{messageType}.
type AnomalyDisabled struct {
	AnomalyType string `json:"anomalyType"`
	MessageType string `json:"messageType"`
}

// ---- Faults ----------------------------------------------------------------

// Fault reports a message that a consumer gave up on (type "Fault.<Inner>").
type Fault struct {
	Inner            string          `json:"-"`
	FaultedMessage   json.RawMessage `json:"faultedMessage"`
	ExceptionType    string          `json:"exceptionType"`
	ExceptionMessage string          `json:"exceptionMessage"`
	FailedOnQueue    string          `json:"failedOnQueue"`
}

// MessageType implements Message: "Fault.<Inner>".
func (f Fault) MessageType() string { return FaultType(f.Inner) }

// FaultRoute is the route of a fault about a message of type inner: the
// given exchange with key "fault.<kebab-inner>". The original's key was the
// CLR name "fault`1" (§12.6 #17) and default-convention services targeted a
// missing exchange.
func FaultRoute(exchange, inner string) Route {
	return Route{Exchange: exchange, RoutingKey: "fault." + Kebab(inner)}
}

// TicketStatusOf returns the ticket status a message carries ("" when it
// carries none): what a service passes to the anomaly registry's StatusFilter.
func TicketStatusOf(m Message) string {
	switch v := m.(type) {
	case TicketCreated:
		return string(v.Status)
	case TicketQualified:
		return string(v.Status)
	case IncidentCreated:
		return string(v.Status)
	case AgentAssignedToTicket:
		return string(v.Status)
	case TicketBlocked:
		return string(v.Status)
	case TicketUnblocked:
		return string(v.Status)
	case TicketResolved:
		return string(v.Status)
	}
	return ""
}
