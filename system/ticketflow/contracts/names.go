package contracts

import (
	"fmt"
	"strings"
)

// Service is one Ticketflow process: its short name (used by `tflab serve
// ticketflow/<name>`), the original AppName (connection names, anomaly-sync
// routing key, metric names) and the original HTTP port (spec §2).
type Service struct {
	Name     string
	AppName  string
	HTTPPort int
}

// The six services with the original AppNames and ports.
var (
	Inquiries     = Service{Name: "inquiries", AppName: "inquiries-service", HTTPPort: 5011}
	Tickets       = Service{Name: "tickets", AppName: "tickets-service", HTTPPort: 5112}
	Translations  = Service{Name: "translations", AppName: "translations-service", HTTPPort: 5274}
	SLA           = Service{Name: "sla", AppName: "sla-service", HTTPPort: 5054}
	Communication = Service{Name: "communication", AppName: "communication-service", HTTPPort: 5148}
	Metrics       = Service{Name: "metrics", AppName: "metrics-service", HTTPPort: 5231}
)

// Services lists all services in the order of spec §2.
func Services() []Service {
	return []Service{Inquiries, Tickets, Translations, SLA, Communication, Metrics}
}

// ServiceByName finds a service by short name or AppName.
func ServiceByName(name string) (Service, bool) {
	for _, s := range Services() {
		if s.Name == name || s.AppName == name {
			return s, true
		}
	}
	return Service{}, false
}

// Message type names: the AMQP `type` property, equal to the original CLR
// class names (spec §3.1, §4).
const (
	TypeInquirySubmitted      = "InquirySubmitted"
	TypeRequestTranslationV1  = "RequestTranslationV1"
	TypeRequestTranslationV2  = "RequestTranslationV2"
	TypeTranslationCompleted  = "TranslationCompleted"
	TypeTranslationSkipped    = "TranslationSkipped"
	TypeTicketCreated         = "TicketCreated"
	TypeTicketQualified       = "TicketQualified"
	TypeIncidentCreated       = "IncidentCreated"
	TypeAgentAssignedToTicket = "AgentAssignedToTicket"
	TypeTicketBlocked         = "TicketBlocked"
	TypeTicketUnblocked       = "TicketUnblocked" // new: the original re-emitted TicketQualified (§12.6 #7)
	TypeTicketResolved        = "TicketResolved"
	TypeDeadlinesCalculated   = "DeadlinesCalculated"
	TypeSLABreached           = "SLABreached"
	TypeMetricTick            = "MetricTick"
	TypeAnomalyEventWrapper   = "AnomalyEventWrapper"
	// TypeProducerAgnosticAlert is the consumer-side name Communication gives
	// to any alert (spec §2.5, §8.5); consumer anomalies on alerts match it.
	TypeProducerAgnosticAlert = "ProducerAgnosticAlertMessage"
	// FaultTypePrefix prefixes the type of a fault message: "Fault.<Inner>".
	FaultTypePrefix = "Fault."
)

// FaultType returns the AMQP type of a fault about a message of type inner.
func FaultType(inner string) string { return FaultTypePrefix + inner }

// MessageTypes lists every business message type (not faults), in spec §4 order
// with TicketUnblocked after TicketBlocked.
func MessageTypes() []string {
	return []string{
		TypeInquirySubmitted, TypeRequestTranslationV1, TypeRequestTranslationV2,
		TypeTranslationCompleted, TypeTranslationSkipped, TypeTicketCreated,
		TypeTicketQualified, TypeIncidentCreated, TypeAgentAssignedToTicket,
		TypeTicketBlocked, TypeTicketUnblocked, TypeTicketResolved,
		TypeDeadlinesCalculated, TypeSLABreached, TypeMetricTick, TypeAnomalyEventWrapper,
	}
}

// UIMessageTypes is the fixed message-type list of the original admin panel
// (spec §8.3). The anomaly API accepts any type; this is only the menu.
func UIMessageTypes() []string {
	return []string{
		TypeInquirySubmitted, TypeTicketCreated, TypeTicketQualified, TypeAgentAssignedToTicket,
		TypeTicketBlocked, TypeTicketResolved, TypeRequestTranslationV1, TypeRequestTranslationV2,
		TypeTranslationCompleted, TypeTranslationSkipped, TypeDeadlinesCalculated,
	}
}

// Exchange names (spec §6.2).
const (
	DefaultExchange              = ""
	ExchangeInquirySubmitted     = "inquiry-submitted-exchange"
	ExchangeTranslationCompleted = "translation-completed-exchange"
	ExchangeTickets              = "tickets-exchange"
	ExchangeSLA                  = "sla-exchange"
	ExchangeAlerting             = "alerting"
	ExchangeAnomaliesSync        = "anomalies-sync"
	ExchangeMetrics              = "metrics-exchange"
)

// Queue names (spec §6.2).
const (
	QueueInquirySubmittedTickets     = "inquiry-submitted-tickets-service-queue"
	QueueTranslationCompletedTickets = "translation-completed-tickets-service-queue"
	QueueRequestTranslationV1        = "request-translation-v1-queue"
	QueueRequestTranslationV2        = "request-translation-v2-queue"
	QueueInquiriesTicketCreated      = "inquiries-ticket-created"
	QueueTicketsSLAChanges           = "tickets-sla-changes"
	QueueSLATicketChanges            = "sla-ticket-changes"
	QueueCommunicationTicketResolved = "communication-ticket-resolved"
	QueueCommunicationAlerts         = "communication-alerts"
	QueueLiveMetrics                 = "live-metrics"
	// AnomaliesSyncQueuePrefix + "<AppName>-<InstanceId>" is each instance's sync queue.
	AnomaliesSyncQueuePrefix = "anomalies-sync-"
)

// Routing keys (spec §3.2, §4, §6.2).
const (
	KeyTicketCreated         = "ticket-created"
	KeyTicketQualified       = "ticket-qualified"
	KeyIncidentCreatedAlert  = "incident-created.alert"
	KeyAgentAssigned         = "agent-assigned"
	KeyTicketBlocked         = "ticket-blocked"
	KeyTicketUnblocked       = "ticket-unblocked"
	KeyTicketResolved        = "ticket-resolved"
	KeyDeadlinesCalculated   = "deadlines-calculated"
	KeySLABreachedAlert      = "s-l-a-breached.alert"
	KeyAlertPattern          = "#.alert.#"
	KeyAll                   = "#"
	MetricKeyPrefix          = "metric."
	AlertSuffix              = ".alert"
	AnomaliesSyncQueueExpiry = 60000 // ms, x-expires of the sync and live-metrics queues
)

// AnomaliesSyncQueue names the per-instance sync queue of an app.
func AnomaliesSyncQueue(appName, instanceID string) string {
	return AnomaliesSyncQueuePrefix + appName + "-" + instanceID
}

// MetricKey is the routing key of an app's metric ticks: "metric.<AppName>".
func MetricKey(appName string) string { return MetricKeyPrefix + appName }

// Kebab converts a class name with the original convention: every capital
// letter starts a new segment, so "SLABreached" becomes "s-l-a-breached" and
// "InquirySubmitted" becomes "inquiry-submitted" (spec §3.2).
func Kebab(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r + ('a' - 'A'))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Route is where a message is published.
type Route struct {
	Exchange   string
	RoutingKey string
}

func (r Route) String() string { return fmt.Sprintf("%q/%q", r.Exchange, r.RoutingKey) }

var routes = map[string]Route{
	TypeInquirySubmitted:      {ExchangeInquirySubmitted, ""},
	TypeRequestTranslationV1:  {DefaultExchange, QueueRequestTranslationV1},
	TypeRequestTranslationV2:  {DefaultExchange, QueueRequestTranslationV2},
	TypeTranslationCompleted:  {ExchangeTranslationCompleted, ""},
	TypeTranslationSkipped:    {ExchangeTranslationCompleted, ""},
	TypeTicketCreated:         {ExchangeTickets, KeyTicketCreated},
	TypeTicketQualified:       {ExchangeTickets, KeyTicketQualified},
	TypeIncidentCreated:       {ExchangeTickets, KeyIncidentCreatedAlert},
	TypeAgentAssignedToTicket: {ExchangeTickets, KeyAgentAssigned},
	TypeTicketBlocked:         {ExchangeTickets, KeyTicketBlocked},
	TypeTicketUnblocked:       {ExchangeTickets, KeyTicketUnblocked},
	TypeTicketResolved:        {ExchangeTickets, KeyTicketResolved},
	TypeDeadlinesCalculated:   {ExchangeSLA, KeyDeadlinesCalculated},
	TypeSLABreached:           {ExchangeSLA, KeySLABreachedAlert},
}

// RouteOf returns the fixed destination of a message type. MetricTick and
// AnomalyEventWrapper depend on the sender's AppName: use RouteFor.
func RouteOf(msgType string) (Route, bool) {
	r, ok := routes[msgType]
	return r, ok
}

// RouteFor returns the destination of m as published by the app appName.
func RouteFor(m Message, appName string) (Route, error) {
	switch m.MessageType() {
	case TypeMetricTick:
		return Route{ExchangeMetrics, MetricKey(appName)}, nil
	case TypeAnomalyEventWrapper:
		return Route{ExchangeAnomaliesSync, appName}, nil
	}
	if r, ok := routes[m.MessageType()]; ok {
		return r, nil
	}
	return Route{}, fmt.Errorf("no route for message type %q", m.MessageType())
}
