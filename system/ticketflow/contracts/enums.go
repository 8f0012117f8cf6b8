package contracts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The enums travel as strings (the original serialised enums by name, spec
// §3.1, §12.4). Input is case-insensitive and may also be the original's
// integer value, as the original's JSON options accepted both.

// Category of an inquiry (original ints: General=0, Technical=1, Billing=2, Other=3).
type Category string

// Categories.
const (
	CategoryGeneral   Category = "General"
	CategoryTechnical Category = "Technical"
	CategoryBilling   Category = "Billing"
	CategoryOther     Category = "Other"
)

var categories = []Category{CategoryGeneral, CategoryTechnical, CategoryBilling, CategoryOther}

// ParseCategory parses a name or number case-insensitively. Like the
// original (spec §2.1, §5.1), anything unknown becomes Other; ok reports
// whether the input was a known category.
func ParseCategory(s string) (c Category, ok bool) {
	if c, ok := parseEnum(s, categories); ok {
		return c, true
	}
	return CategoryOther, false
}

// UnmarshalJSON is lenient like the original: unknown values become Other.
func (c *Category) UnmarshalJSON(b []byte) error {
	s, err := enumText(b)
	if err != nil {
		return err
	}
	*c, _ = ParseCategory(s)
	return nil
}

// InquiryStatus (original ints: New=0, InProgress=1, Closed=2, Resolved=3).
type InquiryStatus string

// Inquiry statuses.
const (
	InquiryNew        InquiryStatus = "New"
	InquiryInProgress InquiryStatus = "InProgress"
	InquiryClosed     InquiryStatus = "Closed"
	InquiryResolved   InquiryStatus = "Resolved"
)

var inquiryStatuses = []InquiryStatus{InquiryNew, InquiryInProgress, InquiryClosed, InquiryResolved}

// ParseInquiryStatus parses a name or number case-insensitively.
func ParseInquiryStatus(s string) (InquiryStatus, error) {
	return parseStrict(s, inquiryStatuses, "inquiry status")
}

// UnmarshalJSON accepts names (any case) and numbers.
func (s *InquiryStatus) UnmarshalJSON(b []byte) error {
	return unmarshalStrict(b, s, inquiryStatuses, "inquiry status")
}

// TicketStatus of the ticket aggregate. The original stored it as text; its
// order here follows the original enum.
type TicketStatus string

// Ticket statuses.
const (
	StatusUnknown                   TicketStatus = "Unknown"
	StatusWaitingForScheduledAction TicketStatus = "WaitingForScheduledAction"
	StatusBeforeQualification       TicketStatus = "BeforeQualification"
	StatusQualified                 TicketStatus = "Qualified"
	StatusResolved                  TicketStatus = "Resolved"
	StatusBlocked                   TicketStatus = "Blocked"
)

var ticketStatuses = []TicketStatus{StatusUnknown, StatusWaitingForScheduledAction, StatusBeforeQualification, StatusQualified, StatusResolved, StatusBlocked}

// ParseTicketStatus parses a name or number case-insensitively.
func ParseTicketStatus(s string) (TicketStatus, error) {
	return parseStrict(s, ticketStatuses, "ticket status")
}

// UnmarshalJSON accepts names (any case) and numbers.
func (s *TicketStatus) UnmarshalJSON(b []byte) error {
	return unmarshalStrict(b, s, ticketStatuses, "ticket status")
}

// TicketType (original: Unknown/Incident/Question).
type TicketType string

// Ticket types.
const (
	TypeUnknown  TicketType = "Unknown"
	TypeIncident TicketType = "Incident"
	TypeQuestion TicketType = "Question"
)

var ticketTypes = []TicketType{TypeUnknown, TypeIncident, TypeQuestion}

// ParseTicketType parses a name or number case-insensitively.
func ParseTicketType(s string) (TicketType, error) { return parseStrict(s, ticketTypes, "ticket type") }

// UnmarshalJSON accepts names (any case) and numbers.
func (t *TicketType) UnmarshalJSON(b []byte) error {
	return unmarshalStrict(b, t, ticketTypes, "ticket type")
}

// Severity (original ints: Low=0, Medium=1, High=2, Critical=3).
type Severity string

// Severities.
const (
	SeverityLow      Severity = "Low"
	SeverityMedium   Severity = "Medium"
	SeverityHigh     Severity = "High"
	SeverityCritical Severity = "Critical"
)

// Severities lists the severities from Low to Critical.
func Severities() []Severity {
	return []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
}

// ParseSeverity parses a name or number case-insensitively.
func ParseSeverity(s string) (Severity, error) { return parseStrict(s, Severities(), "severity") }

// UnmarshalJSON accepts names (any case) and numbers.
func (s *Severity) UnmarshalJSON(b []byte) error {
	return unmarshalStrict(b, s, Severities(), "severity")
}

// ServiceType is SLA's view of what is being served (original smallint:
// Unknown=0, IncidentTicket=1, QuestionTicket=2).
type ServiceType string

// Service types.
const (
	ServiceUnknown        ServiceType = "Unknown"
	ServiceIncidentTicket ServiceType = "IncidentTicket"
	ServiceQuestionTicket ServiceType = "QuestionTicket"
)

var serviceTypes = []ServiceType{ServiceUnknown, ServiceIncidentTicket, ServiceQuestionTicket}

// ParseServiceType parses a name or number case-insensitively.
func ParseServiceType(s string) (ServiceType, error) {
	return parseStrict(s, serviceTypes, "service type")
}

// UnmarshalJSON accepts names (any case) and numbers.
func (t *ServiceType) UnmarshalJSON(b []byte) error {
	return unmarshalStrict(b, t, serviceTypes, "service type")
}

// ServiceTypeOf maps a ticket type to SLA's service type (spec §5.3: Incident
// → IncidentTicket, Question → QuestionTicket); ok is false otherwise.
func ServiceTypeOf(t TicketType) (ServiceType, bool) {
	switch t {
	case TypeIncident:
		return ServiceIncidentTicket, true
	case TypeQuestion:
		return ServiceQuestionTicket, true
	}
	return ServiceUnknown, false
}

// AlertType is the free-text type of an alert. The original's two values are
// Polish and are kept verbatim because the desk UI switches on them.
type AlertType string

// Alert types.
const (
	AlertIncident AlertType = "Incydent"
	AlertSLA      AlertType = "SLA"
)

// HealthStatus of a metric tick (original: Unknown/Healthy/Error).
type HealthStatus string

// Health statuses.
const (
	HealthUnknown HealthStatus = "Unknown"
	HealthHealthy HealthStatus = "Healthy"
	HealthError   HealthStatus = "Error"
)

var healthStatuses = []HealthStatus{HealthUnknown, HealthHealthy, HealthError}

// UnmarshalJSON accepts names (any case) and numbers.
func (h *HealthStatus) UnmarshalJSON(b []byte) error {
	return unmarshalStrict(b, h, healthStatuses, "health status")
}

func parseEnum[T ~string](s string, values []T) (T, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 0 && n < len(values) {
			return values[n], true
		}
		return "", false
	}
	for _, v := range values {
		if strings.EqualFold(string(v), s) {
			return v, true
		}
	}
	return "", false
}

// EnumError says an enum value was not recognised. HTTP layers turn it into 400.
type EnumError struct {
	Kind  string // "severity", "ticket type", ...
	Value string
	Valid []string
}

func (e *EnumError) Error() string {
	return fmt.Sprintf("unknown %s %q (valid: %s)", e.Kind, e.Value, strings.Join(e.Valid, ", "))
}

func parseStrict[T ~string](s string, values []T, kind string) (T, error) {
	if v, ok := parseEnum(s, values); ok {
		return v, nil
	}
	valid := make([]string, len(values))
	for i, v := range values {
		valid[i] = string(v)
	}
	return "", &EnumError{Kind: kind, Value: s, Valid: valid}
}

func unmarshalStrict[T ~string](b []byte, dst *T, values []T, kind string) error {
	s, err := enumText(b)
	if err != nil {
		return err
	}
	v, err := parseStrict(s, values, kind)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// enumText reads a JSON string or number as text.
func enumText(b []byte) (string, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("enum value must be a string or a number, got %s", b)
}
