package contracts

import "slices"

// HTTP command names (spec §4.2): the "type" of an HTTP command execution, used
// where the original used the command's class name.
const (
	CommandSubmitInquiry        = "SubmitInquiry"
	CommandQualifyTicket        = "QualifyTicket"
	CommandAssignAgentToTicket  = "AssignAgentToTicket"
	CommandBlockTicket          = "BlockTicket"
	CommandUnblockTicket        = "UnblockTicket"
	CommandResolveTicket        = "ResolveTicket"
	CommandAddClientNote        = "AddClientNoteToTicket"
	CommandCreateTicket         = "CreateTicket" // POST /tickets/ (sync flow)
	CommandDeadlineWatch        = "SLADeadlineWatch"
	CommandPostCommunicationMsg = "PostMessage" // POST /messages
)

// Execution is one unit of work of a service — handling a message type or
// running an HTTP command — and the message types it may publish. The anomaly
// system uses it to fire ProducerErrorBeforeTransaction before anything was
// published (the original matched only types published so far, so that
// anomaly never fired: spec §8.6, §12.6 #12).
type Execution struct {
	Service   string // short service name
	Trigger   string // consumed message type or command name
	Publishes []string
}

// Executions lists every execution of the system with its possible outputs.
func Executions() []Execution {
	return []Execution{
		{Inquiries.Name, CommandSubmitInquiry, []string{TypeInquirySubmitted, TypeRequestTranslationV2}},
		{Inquiries.Name, TypeTicketCreated, nil},
		{Inquiries.Name, TypeTicketResolved, nil},
		{Translations.Name, TypeRequestTranslationV2, []string{TypeTranslationCompleted, TypeTranslationSkipped}},
		{Tickets.Name, TypeInquirySubmitted, []string{TypeTicketCreated}},
		{Tickets.Name, CommandCreateTicket, []string{TypeTicketCreated}},
		{Tickets.Name, TypeTranslationCompleted, nil},
		{Tickets.Name, TypeTranslationSkipped, nil},
		{Tickets.Name, TypeDeadlinesCalculated, nil},
		{Tickets.Name, CommandQualifyTicket, []string{TypeTicketQualified, TypeIncidentCreated}},
		{Tickets.Name, CommandAssignAgentToTicket, []string{TypeAgentAssignedToTicket}},
		{Tickets.Name, CommandBlockTicket, []string{TypeTicketBlocked}},
		{Tickets.Name, CommandUnblockTicket, []string{TypeTicketUnblocked}},
		{Tickets.Name, CommandResolveTicket, []string{TypeTicketResolved}},
		{Tickets.Name, CommandAddClientNote, nil},
		{SLA.Name, TypeTicketCreated, nil},
		{SLA.Name, TypeIncidentCreated, nil},
		{SLA.Name, TypeTicketQualified, []string{TypeDeadlinesCalculated}},
		{SLA.Name, TypeAgentAssignedToTicket, nil},
		{SLA.Name, TypeTicketBlocked, nil},
		{SLA.Name, TypeTicketUnblocked, []string{TypeDeadlinesCalculated}},
		{SLA.Name, TypeTicketResolved, nil},
		{SLA.Name, CommandDeadlineWatch, []string{TypeSLABreached}},
		{Communication.Name, TypeTicketResolved, nil},
		{Communication.Name, TypeProducerAgnosticAlert, nil},
		{Communication.Name, CommandPostCommunicationMsg, nil},
	}
}

// Publishes returns the message types an execution may publish.
func Publishes(service, trigger string) []string {
	for _, e := range Executions() {
		if e.Service == service && e.Trigger == trigger {
			return slices.Clone(e.Publishes)
		}
	}
	return nil
}
