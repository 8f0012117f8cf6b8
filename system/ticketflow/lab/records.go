package lab

import (
	"maps"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// KindSubmit is the record kind of a submitted inquiry; desk commands keep
// their own kinds (qualify, assign, block, unblock, resolve).
const KindSubmit = "submit"

// Attributes of a submission record.
const (
	AttrLanguage = "language"
	AttrEmail    = "email"
)

// Records turns the workload's submissions and commands into generic
// records, submissions first.
func Records(subs []history.Submission, cmds []history.Command) []history.Record {
	out := make([]history.Record, 0, len(subs)+len(cmds))
	for _, s := range subs {
		out = append(out, history.Record{Kind: KindSubmit, ID: s.InquiryID, At: s.At, Accepted: s.Accepted, Status: s.Status,
			TraceID: s.TraceID, Attrs: map[string]string{AttrLanguage: s.Language, AttrEmail: s.Email}})
	}
	for _, c := range cmds {
		out = append(out, history.Record{Kind: c.Kind, ID: c.TicketID, At: c.At, Accepted: c.Accepted, Status: c.Status,
			TraceID: c.TraceID, Attrs: maps.Clone(c.Params)})
	}
	return out
}
