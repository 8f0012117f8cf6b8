package invariants

import (
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
)

// Message types of the submission flow (spec §5.1, §5.2).
var submissionFlow = []string{"InquirySubmitted", "RequestTranslationV1", "RequestTranslationV2",
	"TranslationCompleted", "TranslationSkipped", "TicketCreated"}

// checkNoLostInquiry (TF1): every accepted submission is in the Inquiries
// database and became a ticket; nothing appears that nobody submitted.
// A submission whose outcome was unknown (no 2xx) but that was stored anyway
// is "recovered", which is legal.
func checkNoLostInquiry(inv Invariant, x *index) Result {
	r := newResult(inv, "accepted inquiries")
	if len(x.subs) == 0 {
		r.Status, r.Reason = Inconclusive, "the workload submitted no inquiries"
		return r
	}
	if !x.hasSnapshot() {
		r.Status, r.Reason = Inconclusive, "no database snapshot was taken"
		return r
	}
	var recovered, accounted notes
	for i := range x.subs {
		s := &x.subs[i]
		_, stored := x.inquiry[s.InquiryID]
		_, ticket := x.ticket[s.InquiryID]
		if !s.Accepted {
			if stored {
				recovered.Add(Recovered, s.InquiryID, s.TraceID.String())
			}
			continue
		}
		r.Checked++
		msgs, traces := x.related(s.InquiryID, "InquirySubmitted")
		traces = prependUnique(traces, s.TraceID.String())
		switch {
		case !stored:
			r.Violations = append(r.Violations, Violation{Category: Lost, Subject: "inquiry " + s.InquiryID,
				Detail: "accepted (HTTP 2xx) but not in the Inquiries database", MessageIDs: msgs, TraceIDs: traces})
		case !ticket:
			if id, ok := x.deadLettered(s.InquiryID, "InquirySubmitted", "tickets"); ok {
				accounted.Add(Accounted, "InquirySubmitted "+id, s.TraceID.String())
				continue
			}
			r.Violations = append(r.Violations, Violation{Category: Lost, Subject: "inquiry " + s.InquiryID,
				Detail: "stored but never became a ticket", MessageIDs: msgs, TraceIDs: traces})
		}
	}
	for _, q := range x.snap.Inquiries {
		if _, ok := x.submission[q.ID]; !ok {
			r.Violations = append(r.Violations, Violation{Category: Unexpected, Subject: "inquiry " + q.ID,
				Detail: "in the Inquiries database but never submitted by the workload"})
		}
	}
	for _, t := range x.snap.Tickets {
		if _, ok := x.submission[t.ID]; !ok {
			msgs, traces := x.related(t.ID)
			subject := "ticket " + t.ID
			if _, ok := x.inquiry[t.ID]; ok {
				subject = "inquiry " + t.ID // the same unsubmitted inquiry: one finding
			}
			r.Violations = append(r.Violations, Violation{Category: Unexpected, Subject: subject,
				Detail: "in the Tickets database but no submitted inquiry has its id", MessageIDs: msgs, TraceIDs: traces})
		}
	}
	r.Notes = append(recovered.List(), accounted.List()...)
	return finish(r)
}

// checkTranslationCompleteness (TF4): every ticket whose language is not
// English carries a translation and has left WaitingForScheduledAction; an
// English ticket never waits for one.
func checkTranslationCompleteness(inv Invariant, x *index) Result {
	r := newResult(inv, "non-English tickets")
	if !x.hasSnapshot() {
		r.Status, r.Reason = Inconclusive, "no database snapshot was taken"
		return r
	}
	var accounted notes
	for i := range x.snap.Tickets {
		t := &x.snap.Tickets[i]
		lang := x.language(t)
		if lang == "" || lang == "en" {
			if t.Status == "WaitingForScheduledAction" {
				msgs, traces := x.related(t.ID, submissionFlow...)
				r.Violations = append(r.Violations, Violation{Category: Unexpected, Subject: "ticket " + t.ID,
					Detail: "English ticket is waiting for a translation", MessageIDs: msgs, TraceIDs: traces})
			}
			continue
		}
		r.Checked++
		if t.Translation != "" && t.Status != "WaitingForScheduledAction" {
			continue
		}
		if id, ok := x.translationDeadLettered(t.ID); ok {
			accounted.Add(Accounted, id, "")
			continue
		}
		msgs, traces := x.related(t.ID, "RequestTranslationV1", "RequestTranslationV2", "TranslationCompleted", "TranslationSkipped")
		detail := fmt.Sprintf("%s ticket has no translation", lang)
		if t.Translation != "" {
			detail = fmt.Sprintf("%s ticket has its translation but is still %s", lang, t.Status)
		} else if t.Status == "WaitingForScheduledAction" {
			detail = fmt.Sprintf("%s ticket is still waiting for its translation", lang)
		}
		r.Violations = append(r.Violations, Violation{Category: Lost, Subject: "ticket " + t.ID, Detail: detail,
			MessageIDs: msgs, TraceIDs: traces})
	}
	r.Notes = accounted.List()
	return finish(r)
}

// language is the ticket's detected language, else what the workload generated.
func (x *index) language(t *tfhistory.Ticket) string {
	if t.Language != "" {
		return t.Language
	}
	if s, ok := x.submission[t.ID]; ok {
		return s.Language
	}
	return ""
}

func (x *index) translationDeadLettered(ticket string) (string, bool) {
	for _, typ := range []string{"RequestTranslationV2", "TranslationCompleted", "TranslationSkipped"} {
		if id, ok := x.deadLettered(ticket, typ, ""); ok {
			return typ + " " + id, true
		}
	}
	return "", false
}
