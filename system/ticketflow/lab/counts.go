package lab

import (
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
)

// Counts sizes a run in Ticketflow's words: submissions (accepted) and
// desk commands, and the rows the services stored.
func Counts(h *history.History) []history.Count {
	subs := tfhistory.Submissions(h.Records)
	accepted := 0
	for _, s := range subs {
		if s.Accepted {
			accepted++
		}
	}
	snap, _ := tfhistory.Of(h)
	if snap == nil {
		snap = &tfhistory.Snapshot{}
	}
	w, s := history.CountWorkload, history.CountSnapshot
	return []history.Count{
		{Name: "submissions", N: len(subs), Of: w},
		{Name: "accepted", N: accepted, Of: w},
		{Name: "commands", N: len(h.Records) - len(subs), Of: w},
		{Name: "inquiries", N: len(snap.Inquiries), Of: s},
		{Name: "tickets", N: len(snap.Tickets), Of: s},
		{Name: "slaRecords", Label: "SLA records", N: len(snap.Reminders), Of: s},
		{Name: "messages", N: len(snap.Messages), Of: s},
		{Name: "alerts", N: len(snap.Alerts), Of: s},
	}
}
