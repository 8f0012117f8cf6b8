package invariants

import (
	"errors"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
)

// Sentinels, one per invariant; each message states the guarantee it broke.
var (
	ErrNoLostInquiry           = errors.New("broke TF1 NoLostInquiry – every accepted inquiry is stored and becomes a ticket")
	ErrExactlyOnceEffects      = errors.New("broke TF2 ExactlyOnceEffects – every side effect (closure message, alert, reminder, deadline) happens exactly once")
	ErrSLAVersionOrder         = errors.New("broke TF3 SLAVersionOrder – SLA applies each ticket's events in version order")
	ErrTranslationCompleteness = errors.New("broke TF4 TranslationCompleteness – every non-English ticket gets its English translation")
	ErrSLAOracle               = errors.New("broke TF5 SLAOracle – SLA deadlines and reminder times match the SLA rules")
	ErrConvergence             = errors.New("broke TF6 CrossServiceConvergence – all services agree on each inquiry and ticket at quiescence")
	ErrNoGhostEvents           = errors.New("broke TF7 NoGhostEvents – nothing is published for a change that was rolled back")
	ErrConnectedTraces         = errors.New("broke TF9 ConnectedTraces – each inquiry's flow is one connected trace")
)

// SubmissionFlow is the trace flow a submission starts (spec §5.1, §5.2):
// submit → InquirySubmitted → ticket → TicketCreated → link, and the
// translation branch.
var SubmissionFlow = check.Flow{Kind: tfhistory.KindSubmit, Subject: "inquiry", Name: "submission flow",
	First: "InquirySubmitted", MessageTypes: submissionFlow}

// All lists Ticketflow's invariants in id order: TF1–TF7 and its TF9,
// the generic ConnectedTraces with the submission flow.
var All = []check.Invariant{
	{ID: "TF1", Name: "NoLostInquiry", Guarantee: "every accepted inquiry is stored and becomes a ticket", Err: ErrNoLostInquiry, Check: adapt(checkNoLostInquiry)},
	{ID: "TF2", Name: "ExactlyOnceEffects", Guarantee: "every side effect (closure message, alert, reminder, deadline) happens exactly once", Err: ErrExactlyOnceEffects, Check: adapt(checkExactlyOnceEffects)},
	{ID: "TF3", Name: "SLAVersionOrder", Guarantee: "SLA applies each ticket's events in version order", Err: ErrSLAVersionOrder, Check: adapt(checkSLAVersionOrder)},
	{ID: "TF4", Name: "TranslationCompleteness", Guarantee: "every non-English ticket gets its English translation", Err: ErrTranslationCompleteness, Check: adapt(checkTranslationCompleteness)},
	{ID: "TF5", Name: "SLAOracle", Guarantee: "SLA deadlines and reminder times match the SLA rules", Err: ErrSLAOracle, Check: adapt(checkSLAOracle)},
	{ID: "TF6", Name: "CrossServiceConvergence", Guarantee: "all services agree on each inquiry and ticket at quiescence", Err: ErrConvergence, Check: adapt(checkConvergence)},
	{ID: "TF7", Name: "NoGhostEvents", Guarantee: "nothing is published for a change that was rolled back", Err: ErrNoGhostEvents, Check: adapt(checkNoGhostEvents)},
	check.ConnectedTracesOf("each inquiry's flow is one connected trace", ErrConnectedTraces, SubmissionFlow),
}
