package tfhistory

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
func Records(subs []Submission, cmds []Command) []history.Record {
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

// Submissions returns the submissions among records, in order.
func Submissions(records []history.Record) []Submission {
	var out []Submission
	for _, r := range records {
		if r.Kind == KindSubmit {
			out = append(out, Submission{InquiryID: r.ID, At: r.At, Language: r.Attrs[AttrLanguage], Email: r.Attrs[AttrEmail],
				Accepted: r.Accepted, Status: r.Status, TraceID: r.TraceID})
		}
	}
	return out
}

// Commands returns the desk commands among records, in order.
func Commands(records []history.Record) []Command {
	var out []Command
	for _, r := range records {
		if r.Kind != KindSubmit {
			out = append(out, Command{Kind: r.Kind, TicketID: r.ID, At: r.At, Accepted: r.Accepted, Status: r.Status,
				Params: r.Attrs, TraceID: r.TraceID})
		}
	}
	return out
}
