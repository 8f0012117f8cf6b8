package sla

import (
	"fmt"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// AgentMessage is a message to an agent's inbox, shaped as the body of
// Communication's POST /messages (sender SYSTEM = none). IdempotencyKey is
// an extension: Communication stores a key once, so a retried POST does not
// deliver twice.
type AgentMessage struct {
	RecipentUserID string `json:"recipentUserId"` // sic: the original field name
	Title          string `json:"title"`
	Content        string `json:"content"`
	IdempotencyKey string `json:"idempotencyKey"`
}

// Original (Polish) titles.
const (
	TitleFirstReminder  = "Przypomnienie #1"
	TitleSecondReminder = "Przypomnienie #2"
	TitleFinalReminder  = "Ostateczne przypomnienie"
	TitleBreach         = "SLA niespełnione"
)

// ServiceLabel names a service type in Polish texts ("Ticket - Incydent").
func ServiceLabel(st contracts.ServiceType) string {
	switch st {
	case contracts.ServiceIncidentTicket:
		return "Ticket - Incydent"
	case contracts.ServiceQuestionTicket:
		return "Ticket - Pytanie"
	}
	return string(st)
}

// BreachText is the alert content: "SLA not met for [Ticket - ...]: id".
func BreachText(st contracts.ServiceType, ticketID string) string {
	return fmt.Sprintf("SLA niespełnione dla [%s]: %s", ServiceLabel(st), ticketID)
}

// Effects returns what performing a means: an agent message (reminders, and
// breaches when an agent is assigned) and, for breaches, the SLABreached
// alert to publish. Both carry the action's idempotency keys.
func Effects(a Action) (msg *AgentMessage, alert *contracts.SLABreached) {
	label := ServiceLabel(a.ServiceType)
	switch a.Kind {
	case SendReminder:
		if a.AgentUserID == "" {
			return nil, nil
		}
		title := map[int]string{1: TitleFirstReminder, 2: TitleSecondReminder, 3: TitleFinalReminder}[a.N]
		content := fmt.Sprintf("[%s] %s czeka na Twoją akcję.", label, a.TicketID)
		if a.N == Reminders {
			content = fmt.Sprintf("[%s] %s czeka na Twoją akcję. SLA zaraz zostanie przekroczone!", label, a.TicketID)
		}
		return &AgentMessage{RecipentUserID: a.AgentUserID, Title: title, Content: content, IdempotencyKey: a.Key}, nil
	case RaiseBreach:
		alert = &contracts.SLABreached{ServiceType: a.ServiceType, ServiceSourceID: a.TicketID,
			AlertMessageContent: BreachText(a.ServiceType, a.TicketID), AlertType: contracts.AlertSLA, AlertKey: a.Key}
		if a.AgentUserID != "" {
			msg = &AgentMessage{RecipentUserID: a.AgentUserID, Title: TitleBreach,
				Content: BreachText(a.ServiceType, a.TicketID), IdempotencyKey: BreachMessageKey(a.TicketID, a.N)}
		}
		return msg, alert
	}
	return nil, nil
}
