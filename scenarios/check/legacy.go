package check

import (
	"encoding/json"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// legacyTicketflow fills the Ticketflow fields of h's snapshot and workload
// from the system snapshot and the records, while TF1–TF7 still live here
// (temporary: they move to system/ticketflow/lab).
func legacyTicketflow(h *history.History) {
	if !h.Snapshot.System.IsZero() && len(h.Snapshot.Inquiries)+len(h.Snapshot.Tickets) == 0 {
		b, _ := h.Snapshot.System.MarshalJSON()
		var s history.Snapshot
		if json.Unmarshal(b, &s) == nil {
			h.Snapshot.Inquiries, h.Snapshot.Tickets, h.Snapshot.Reminders = s.Inquiries, s.Tickets, s.Reminders
			h.Snapshot.Messages, h.Snapshot.Alerts = s.Messages, s.Alerts
		}
	}
	if len(h.Workload)+len(h.Commands) == 0 {
		for _, r := range h.Records {
			if r.Kind == "submit" {
				h.Workload = append(h.Workload, history.Submission{InquiryID: r.ID, At: r.At, Language: r.Attrs["language"],
					Email: r.Attrs["email"], Accepted: r.Accepted, Status: r.Status, TraceID: r.TraceID})
				continue
			}
			h.Commands = append(h.Commands, history.Command{Kind: r.Kind, TicketID: r.ID, At: r.At, Accepted: r.Accepted,
				Status: r.Status, Params: r.Attrs, TraceID: r.TraceID})
		}
	}
}
