package contracts

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

var (
	_ Versioned = InquirySubmitted{}
	_ Versioned = TicketCreated{}
	_ Versioned = TicketQualified{}
	_ Versioned = IncidentCreated{}
	_ Versioned = AgentAssignedToTicket{}
	_ Versioned = TicketBlocked{}
	_ Versioned = TicketUnblocked{}
	_ Versioned = TicketResolved{}
	_ Versioned = DeadlinesCalculated{}
	_ Alert     = IncidentCreated{}
	_ Alert     = SLABreached{}
	_ Alert     = ProducerAgnosticAlertMessage{}
	_ Message   = RequestTranslationV1{}
	_ Message   = RequestTranslationV2{}
	_ Message   = TranslationCompleted{}
	_ Message   = TranslationSkipped{}
	_ Message   = MetricTick{}
	_ Message   = AnomalyEventWrapper{}
	_ Message   = Fault{}
)

// ErrUnknownType is returned by Decode for a type it does not know. The
// original acked and dropped such messages (spec §3.3); consumers should too.
var ErrUnknownType = errors.New("unknown message type")

var decoders = map[string]func([]byte) (Message, error){
	TypeInquirySubmitted:      decodeAs[InquirySubmitted],
	TypeRequestTranslationV1:  decodeAs[RequestTranslationV1],
	TypeRequestTranslationV2:  decodeAs[RequestTranslationV2],
	TypeTranslationCompleted:  decodeAs[TranslationCompleted],
	TypeTranslationSkipped:    decodeAs[TranslationSkipped],
	TypeTicketCreated:         decodeAs[TicketCreated],
	TypeTicketQualified:       decodeAs[TicketQualified],
	TypeIncidentCreated:       decodeAs[IncidentCreated],
	TypeAgentAssignedToTicket: decodeAs[AgentAssignedToTicket],
	TypeTicketBlocked:         decodeAs[TicketBlocked],
	TypeTicketUnblocked:       decodeAs[TicketUnblocked],
	TypeTicketResolved:        decodeAs[TicketResolved],
	TypeDeadlinesCalculated:   decodeAs[DeadlinesCalculated],
	TypeSLABreached:           decodeAs[SLABreached],
	TypeMetricTick:            decodeAs[MetricTick],
	TypeAnomalyEventWrapper:   decodeAs[AnomalyEventWrapper],
	TypeProducerAgnosticAlert: decodeAs[ProducerAgnosticAlertMessage],
}

func decodeAs[T Message](b []byte) (Message, error) {
	var m T
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Decode parses a message body by its AMQP type. Faults decode to Fault with
// Inner set. Unknown types wrap ErrUnknownType.
func Decode(msgType string, body []byte) (Message, error) {
	if inner, ok := strings.CutPrefix(msgType, FaultTypePrefix); ok {
		var f Fault
		if err := json.Unmarshal(body, &f); err != nil {
			return nil, fmt.Errorf("decode %s: %w", msgType, err)
		}
		f.Inner = inner
		return f, nil
	}
	dec, ok := decoders[msgType]
	if !ok {
		return nil, fmt.Errorf("decode %q: %w", msgType, ErrUnknownType)
	}
	m, err := dec(body)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", msgType, err)
	}
	return m, nil
}

// DecodeAlert reads any message body as an alert, like Communication's
// ProducerAgnosticAlertMessage: only alertMessageContent, alertType and
// alertKey matter, so any producer's alert is understood.
func DecodeAlert(body []byte) (ProducerAgnosticAlertMessage, error) {
	var a ProducerAgnosticAlertMessage
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("decode alert: %w", err)
	}
	if a.AlertMessageContent == "" || a.AlertType == "" {
		return a, errors.New("decode alert: alertMessageContent and alertType are required")
	}
	return a, nil
}
