package contracts

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

// The original field names (spec §4) must be present; extensions may add more.
func TestMessagesKeepOriginalFieldNames(t *testing.T) {
	tests := []struct {
		msg  Message
		want []string
	}{
		{InquirySubmitted{ID: "1", CreatedAt: at}, []string{"id", "name", "email", "title", "description", "category", "languageCode", "createdAt"}},
		{RequestTranslationV1{}, []string{"text", "ticketId"}},
		{RequestTranslationV2{}, []string{"text", "languageCode", "referenceId"}},
		{TranslationCompleted{}, []string{"originalText", "translatedText", "referenceId"}},
		{TranslationSkipped{}, []string{"originalText", "referenceId"}},
		{TicketCreated{}, []string{"id", "inquiryId", "name", "email", "title", "description", "category", "languageCode", "version", "partitionKey"}},
		{TicketQualified{}, []string{"ticketId", "version", "partitionKey"}},
		{IncidentCreated{}, []string{"ticketId", "version", "partitionKey", "alertMessageContent", "alertType"}},
		{AgentAssignedToTicket{}, []string{"ticketId", "version", "partitionKey"}},
		{TicketBlocked{}, []string{"ticketId", "version", "partitionKey"}},
		{TicketResolved{}, []string{"ticketId", "version", "partitionKey"}},
		{DeadlinesCalculated{}, []string{"serviceType", "serviceSourceId", "deadlineUtc"}},
		{SLABreached{}, []string{"serviceType", "serviceSourceId", "alertMessageContent", "alertType"}},
		{MetricTick{}, []string{"name", "status", "lastChecked", "metrics"}},
		{AnomalyEventWrapper{}, []string{"enabled", "disabled"}},
		{Fault{}, []string{"faultedMessage", "exceptionType", "exceptionMessage", "failedOnQueue"}},
	}
	for _, tt := range tests {
		t.Run(tt.msg.MessageType(), func(t *testing.T) {
			got := jsonKeys(t, tt.msg)
			want := slices.Sorted(slices.Values(tt.want))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("keys of zero value = %v, want %v", got, want)
			}
		})
	}
}

func TestMetricTickNestedShape(t *testing.T) {
	b, _ := json.Marshal(MetricTick{Name: "tickets-service", Status: HealthHealthy, Metrics: HealthMetrics{CPU: CPUMetric{Usage: 12.5}, Memory: MemoryMetric{Used: 100, Total: 2048}}})
	var m struct {
		Metrics struct {
			CPU    map[string]float64 `json:"cpu"`
			Memory map[string]float64 `json:"memory"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Metrics.CPU["usage"] != 12.5 || m.Metrics.Memory["used"] != 100 || m.Metrics.Memory["total"] != 2048 {
		t.Fatalf("unexpected nested shape: %s", b)
	}
}

func TestEnumParsing(t *testing.T) {
	tests := []struct {
		name string
		json string
		dst  any
		want any
		bad  bool
	}{
		{"severity name", `"High"`, new(Severity), SeverityHigh, false},
		{"severity lowercase", `"critical"`, new(Severity), SeverityCritical, false},
		{"severity number", `0`, new(Severity), SeverityLow, false},
		{"severity numeric string", `"1"`, new(Severity), SeverityMedium, false},
		{"severity out of range", `7`, new(Severity), nil, true},
		{"severity unknown", `"Urgent"`, new(Severity), nil, true},
		{"ticket type", `"incident"`, new(TicketType), TypeIncident, false},
		{"ticket status", `"waitingforscheduledaction"`, new(TicketStatus), StatusWaitingForScheduledAction, false},
		{"service type", `"QuestionTicket"`, new(ServiceType), ServiceQuestionTicket, false},
		{"category lowercase", `"billing"`, new(Category), CategoryBilling, false},
		{"category unknown becomes Other", `"complaints"`, new(Category), CategoryOther, false},
		{"inquiry status", `"inprogress"`, new(InquiryStatus), InquiryInProgress, false},
		{"not a scalar", `{}`, new(Severity), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.json), tt.dst)
			if tt.bad {
				if err == nil {
					t.Fatalf("accepted %s", tt.json)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.ValueOf(tt.dst).Elem().Interface()
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	var ee *EnumError
	if _, err := ParseSeverity("huge"); !errors.As(err, &ee) || ee.Kind != "severity" {
		t.Fatalf("ParseSeverity error = %v, want *EnumError", err)
	}
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"InquirySubmitted":     "inquiry-submitted",
		"SLABreached":          "s-l-a-breached",
		"DeadlinesCalculated":  "deadlines-calculated",
		"RequestTranslationV2": "request-translation-v2",
	} {
		if got := Kebab(in); got != want {
			t.Errorf("Kebab(%q) = %q, want %q", in, got, want)
		}
	}
	if Kebab(TypeSLABreached)+AlertSuffix != KeySLABreachedAlert {
		t.Error("SLABreached key does not follow the alert convention")
	}
	if Kebab(TypeIncidentCreated)+AlertSuffix != KeyIncidentCreatedAlert {
		t.Error("IncidentCreated key does not follow the alert convention")
	}
}

func TestTopicMatch(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"#", "ticket-created", true},
		{"#", "", true},
		{"#.alert.#", "incident-created.alert", true},
		{"#.alert.#", "s-l-a-breached.alert", true},
		{"#.alert.#", "ticket-created", false},
		{"#.alert.#", "alert", true},
		{"ticket-created", "ticket-created", true},
		{"ticket-created", "ticket-resolved", false},
		{"metric.*", "metric.tickets-service", true},
		{"metric.*", "metric", false},
		{"*.alert", "a.b.alert", false},
	}
	for _, tt := range tests {
		if got := TopicMatch(tt.pattern, tt.key); got != tt.want {
			t.Errorf("TopicMatch(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestTopologyRoutesEveryMessageToItsConsumers(t *testing.T) {
	topo := Ticketflow()
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	// Where each message type lands, and which of those queues handle it.
	tests := []struct {
		msgType string
		lands   []string
		handled []string
	}{
		{TypeInquirySubmitted, []string{QueueInquirySubmittedTickets}, []string{QueueInquirySubmittedTickets}},
		{TypeRequestTranslationV2, []string{QueueRequestTranslationV2}, []string{QueueRequestTranslationV2}},
		{TypeTranslationCompleted, []string{QueueTranslationCompletedTickets}, []string{QueueTranslationCompletedTickets}},
		{TypeTranslationSkipped, []string{QueueTranslationCompletedTickets}, []string{QueueTranslationCompletedTickets}},
		{TypeTicketCreated, []string{QueueInquiriesTicketCreated, QueueSLATicketChanges}, []string{QueueInquiriesTicketCreated, QueueSLATicketChanges}},
		{TypeTicketQualified, []string{QueueSLATicketChanges}, []string{QueueSLATicketChanges}},
		{TypeIncidentCreated, []string{QueueCommunicationAlerts, QueueSLATicketChanges}, []string{QueueCommunicationAlerts, QueueSLATicketChanges}},
		{TypeAgentAssignedToTicket, []string{QueueSLATicketChanges}, []string{QueueSLATicketChanges}},
		{TypeTicketBlocked, []string{QueueSLATicketChanges}, []string{QueueSLATicketChanges}},
		{TypeTicketUnblocked, []string{QueueSLATicketChanges}, []string{QueueSLATicketChanges}},
		{TypeTicketResolved, []string{QueueCommunicationTicketResolved, QueueInquiriesTicketCreated, QueueSLATicketChanges}, []string{QueueCommunicationTicketResolved, QueueInquiriesTicketCreated, QueueSLATicketChanges}},
		{TypeDeadlinesCalculated, []string{QueueTicketsSLAChanges}, []string{QueueTicketsSLAChanges}},
		// Not tickets-sla-changes: Tickets does not consume alerts (the
		// original's "#" binding delivered them there to be dropped).
		{TypeSLABreached, []string{QueueCommunicationAlerts}, []string{QueueCommunicationAlerts}},
	}
	for _, tt := range tests {
		t.Run(tt.msgType, func(t *testing.T) {
			r, ok := RouteOf(tt.msgType)
			if !ok {
				t.Fatal("no route")
			}
			lands := topo.QueuesFor(r)
			if !reflect.DeepEqual(lands, slices.Sorted(slices.Values(tt.lands))) {
				t.Fatalf("lands in %v, want %v", lands, tt.lands)
			}
			var handled []string
			for _, q := range lands {
				if c, ok := topo.ConsumerFor(q); ok && c.AcceptsType(tt.msgType) {
					handled = append(handled, q)
				}
			}
			if !reflect.DeepEqual(handled, slices.Sorted(slices.Values(tt.handled))) {
				t.Fatalf("handled by %v, want %v", handled, tt.handled)
			}
		})
	}
	if got := topo.QueuesFor(Route{ExchangeMetrics, MetricKey(Tickets.AppName)}); !reflect.DeepEqual(got, []string{QueueLiveMetrics}) {
		t.Fatalf("metric tick lands in %v", got)
	}
}

func TestForServiceAddsInstanceSyncQueue(t *testing.T) {
	topo, err := ForService(SLA, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	got := topo.QueuesFor(Route{ExchangeAnomaliesSync, SLA.AppName})
	if !reflect.DeepEqual(got, []string{"anomalies-sync-sla-service-abc"}) {
		t.Fatalf("sync lands in %v", got)
	}
	if got := topo.QueuesFor(Route{ExchangeAnomaliesSync, Tickets.AppName}); len(got) != 0 {
		t.Fatalf("another app's sync lands in %v", got)
	}
	var queues []string
	for _, c := range topo.Consumers {
		if c.Service != SLA.Name {
			t.Fatalf("foreign consumer %+v", c)
		}
		queues = append(queues, c.Queue)
	}
	if !reflect.DeepEqual(queues, []string{QueueSLATicketChanges, "anomalies-sync-sla-service-abc"}) {
		t.Fatalf("SLA consumes %v", queues)
	}
	c, _ := topo.ConsumerFor(QueueSLATicketChanges)
	if c.Prefetch != 1 {
		t.Fatalf("SLA prefetch = %d, want 1", c.Prefetch)
	}
	if _, err := ForService(Service{Name: "nope"}, "x"); err == nil {
		t.Fatal("unknown service accepted")
	}
	if _, err := ForService(SLA, ""); err == nil {
		t.Fatal("empty instance accepted")
	}
}

func TestValidateCatchesDanglingReferences(t *testing.T) {
	topo := Ticketflow()
	topo.Bindings = append(topo.Bindings, Binding{Source: "nowhere", Destination: "missing"})
	topo.Consumers = append(topo.Consumers, Consumer{Service: "x", Queue: "missing"})
	topo.Exchanges = append(topo.Exchanges, Exchange{Name: ExchangeTickets, Kind: "fanout"})
	err := topo.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken topology")
	}
	for _, want := range []string{"unknown source", "unknown destination", "unknown queue", "declared twice", "unknown kind", "prefetch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

func TestDecodeRoundTrip(t *testing.T) {
	msgs := []Message{
		InquirySubmitted{ID: "i1", Name: "Jan", Category: CategoryTechnical, CreatedAt: at},
		TicketQualified{TicketID: "t1", Version: 2, PartitionKey: "t1", Type: TypeIncident, SeverityLevel: SeverityHigh, CreatedAt: at},
		DeadlinesCalculated{ServiceType: ServiceIncidentTicket, ServiceSourceID: "t1", DeadlineUTC: at, Revision: 1},
		SLABreached{ServiceType: ServiceQuestionTicket, ServiceSourceID: "t1", AlertMessageContent: "x", AlertType: AlertSLA, AlertKey: "breach:t1:1"},
		AnomalyEventWrapper{Enabled: &AnomalyEnabled{AnomalyType: "ConsumerDelayBeforeHandler", MessageType: "X", AdditionalParams: map[string]string{"DelayInMs": "5"}}},
	}
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(m.MessageType(), b)
		if err != nil {
			t.Fatalf("Decode %s: %v", m.MessageType(), err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip %s:\n got %#v\nwant %#v", m.MessageType(), got, m)
		}
	}
	if _, err := Decode("Nope", []byte(`{}`)); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("unknown type error = %v", err)
	}
	f, err := Decode(FaultType(TypeTicketCreated), []byte(`{"exceptionMessage":"boom"}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.(Fault).Inner != TypeTicketCreated || f.MessageType() != "Fault.TicketCreated" {
		t.Fatalf("fault decoded as %#v", f)
	}
	if r := FaultRoute(ExchangeTickets, TypeTicketCreated); r.RoutingKey != "fault.ticket-created" {
		t.Fatalf("fault route %v", r)
	}
}

func TestDecodeAlertReadsAnyProducer(t *testing.T) {
	b, _ := json.Marshal(IncidentCreated{TicketID: "t", Version: 2, AlertMessageContent: "c", AlertType: AlertIncident, AlertKey: "incident:t"})
	a, err := DecodeAlert(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.AlertType != AlertIncident || a.AlertMessageContent != "c" || a.AlertKey != "incident:t" {
		t.Fatalf("alert = %+v", a)
	}
	if _, err := DecodeAlert([]byte(`{"ticketId":"t"}`)); err == nil {
		t.Fatal("a non-alert decoded as an alert")
	}
}

func TestRoutesAndPublishes(t *testing.T) {
	r, err := RouteFor(MetricTick{}, Tickets.AppName)
	if err != nil || r != (Route{ExchangeMetrics, "metric.tickets-service"}) {
		t.Fatalf("metric route %v %v", r, err)
	}
	r, err = RouteFor(AnomalyEventWrapper{}, SLA.AppName)
	if err != nil || r != (Route{ExchangeAnomaliesSync, "sla-service"}) {
		t.Fatalf("sync route %v %v", r, err)
	}
	if _, err := RouteFor(ProducerAgnosticAlertMessage{}, "x"); err == nil {
		t.Fatal("consumer-side alert type has a route")
	}
	for _, e := range Executions() {
		for _, p := range e.Publishes {
			if _, ok := RouteOf(p); !ok {
				t.Errorf("%s/%s publishes %s, which has no route", e.Service, e.Trigger, p)
			}
		}
	}
	if got := Publishes(Tickets.Name, CommandQualifyTicket); !reflect.DeepEqual(got, []string{TypeTicketQualified, TypeIncidentCreated}) {
		t.Fatalf("qualify publishes %v", got)
	}
	if Publishes("tickets", "Nope") != nil {
		t.Fatal("unknown execution publishes something")
	}
}

func TestTicketStatusOf(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{TicketCreated{Status: StatusWaitingForScheduledAction}, "WaitingForScheduledAction"},
		{TicketQualified{Status: StatusQualified}, "Qualified"},
		{IncidentCreated{Status: StatusQualified}, "Qualified"},
		{AgentAssignedToTicket{Status: StatusBlocked}, "Blocked"},
		{TicketBlocked{Status: StatusBlocked}, "Blocked"},
		{TicketUnblocked{Status: StatusQualified}, "Qualified"},
		{TicketResolved{Status: StatusResolved}, "Resolved"},
		{InquirySubmitted{}, ""},
		{DeadlinesCalculated{}, ""},
	}
	for _, tt := range tests {
		if got := TicketStatusOf(tt.m); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.m.MessageType(), got, tt.want)
		}
	}
}
