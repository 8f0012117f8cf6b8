package invariants

import (
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// slaTicketEvents are the versioned ticket events the SLA service consumes:
// the lab's SLA takes every ticket event so that each ticket's version stream
// has no gaps (the original took TicketQualified, AgentAssignedToTicket and
// TicketResolved, spec §4).
var slaTicketEvents = ticketEvents

// checkSLAVersionOrder (TF3): for each ticket, the versions SLA *applied*
// (committed handlings, not skipped by dedup or the ordering guard) strictly
// increase in commit order. A late version is "out of order", split by
// whether the late handling was a redelivery (RabbitTestTool's Ordering vs
// RedeliveredOrdering); applying one version twice is out of order too.
func checkSLAVersionOrder(inv Invariant, x *index) Result {
	r := newResult(inv, "applied SLA ticket events")
	type applied struct {
		n   int32
		end time.Time
	}
	per := map[string][]applied{}
	published := 0
	for i, e := range x.h.EventsWhere(func(h *history.EventHead) bool { return slices.Contains(slaTicketEvents, h.MessageType) }) {
		if e.AggregateVersion <= 0 || !slices.Contains(slaTicketEvents, e.MessageType) {
			continue
		}
		switch {
		case e.Kind == history.KindPublish:
			published++
		case e.Kind == history.KindProcess && e.Service == "sla" && e.Committed():
			per[e.AggregateID] = append(per[e.AggregateID], applied{int32(i), e.End})
		}
	}
	if len(per) == 0 {
		if published > 0 {
			r.Status, r.Reason = Inconclusive, fmt.Sprintf("%d versioned ticket events were published but no SLA handling was recorded", published)
			return r
		}
		r.Reason = "no versioned ticket events in this run"
		return r
	}
	for ticket, list := range sortedKeys(per) {
		sort.SliceStable(list, func(i, j int) bool { return list[i].end.Before(list[j].end) })
		var maxV int64
		var maxE *history.Event
		for _, a := range list {
			e := x.ev(a.n)
			r.Checked++
			if maxE != nil && e.AggregateVersion <= maxV {
				c := OutOfOrder
				if e.Redelivered {
					c = OutOfOrderRedelivered
				}
				what := fmt.Sprintf("applied %s v%d after v%d (%s)", e.MessageType, e.AggregateVersion, maxV, maxE.MessageType)
				if e.AggregateVersion == maxV {
					what = fmt.Sprintf("applied %s v%d a second time", e.MessageType, e.AggregateVersion)
				}
				r.Violations = append(r.Violations, Violation{Category: c, Subject: "ticket " + ticket, Detail: what,
					MessageIDs: []string{maxE.MessageID, e.MessageID},
					TraceIDs:   uniq(maxE.TraceID.String(), e.TraceID.String())})
				continue
			}
			maxV, maxE = e.AggregateVersion, e
		}
	}
	return finish(r)
}

// SLA durations by tier (spec §2.4): the seeded VIP contract for devmentors.io
// and the defaults for every other domain. Both service types share them.
var (
	vipDurations = map[string]time.Duration{
		"Low": 30 * time.Minute, "Medium": 15 * time.Minute, "High": 3 * time.Minute, "Critical": 1 * time.Minute,
	}
	defaultDurations = map[string]time.Duration{
		"Low": 7 * 24 * time.Hour, "Medium": 3 * 24 * time.Hour, "High": 24 * time.Hour, "Critical": time.Hour,
	}
	vipDomains = map[string]bool{"devmentors.io": true}
)

// Schedule is what the SLA rules say a ticket's deadline and reminders are.
type Schedule struct {
	Deadline, First, Second, Final time.Time
}

// Shift moves every time by d: time a ticket spent blocked pauses the SLA
// clock, so it pushes the deadline and the reminders back by as much.
func (s Schedule) Shift(d time.Duration) Schedule {
	return Schedule{s.Deadline.Add(d), s.First.Add(d), s.Second.Add(d), s.Final.Add(d)}
}

// Oracle computes the schedule from the ticket's creation time, customer
// e-mail and severity, from the written rules alone (spec §2.4, §5.3, §5.5 as
// the lab fixes the reminder quirk):
//
//	deadline = created + duration(tier of the e-mail's domain, severity)
//	window   = deadline − anchor   (anchor = created unless the record says otherwise)
//	first    = anchor + 25 % of window
//	second   = anchor + 50 % of window
//	final    = deadline − 15 min, or anchor + 90 % of window when window < 1 h
//
// The domain is the text after '@', matched exactly. Time the ticket spent
// blocked shifts the whole schedule (Schedule.Shift). ok is false for an
// unknown severity.
func Oracle(created, anchor time.Time, email, severity string) (s Schedule, ok bool) {
	durations := defaultDurations
	if at := strings.LastIndexByte(email, '@'); at >= 0 && vipDomains[email[at+1:]] {
		durations = vipDurations
	}
	d, ok := durations[severity]
	if !ok {
		return Schedule{}, false
	}
	if anchor.IsZero() {
		anchor = created
	}
	s.Deadline = created.Add(d)
	window := s.Deadline.Sub(anchor)
	s.First = anchor.Add(window / 4)
	s.Second = anchor.Add(window / 2)
	if window < time.Hour {
		s.Final = anchor.Add(window * 9 / 10)
	} else {
		s.Final = s.Deadline.Add(-15 * time.Minute)
	}
	return s, true
}

// arithmeticTolerance absorbs timestamp rounding in the databases.
const arithmeticTolerance = time.Second

// checkSLAOracle (TF5): every SLA record's deadline and reminder times equal
// the Oracle's, and each ticket's creation time is true (between its
// submission and the end of the span that created it, on the lab's clock) —
// a skewed clock in Tickets would otherwise shift every deadline unnoticed.
func checkSLAOracle(inv Invariant, x *index) Result {
	r := newResult(inv, "SLA records")
	if !x.hasSnapshot() {
		r.Status, r.Reason = Inconclusive, "no database snapshot was taken"
		return r
	}
	qualified := 0
	for _, t := range x.snap.Tickets {
		if t.Type != "" {
			qualified++
		}
	}
	if len(x.snap.Reminders) == 0 {
		if qualified > 0 {
			r.Status, r.Reason = Inconclusive, fmt.Sprintf("%d tickets were qualified but the SLA snapshot is empty", qualified)
		} else {
			r.Reason = "no ticket was qualified in this run"
		}
		return r
	}
	for i := range x.snap.Reminders {
		rec := &x.snap.Reminders[i]
		t, ok := x.ticket[rec.TicketID]
		if !ok || t.Severity == "" {
			continue // TF6 reports an SLA record without its ticket
		}
		r.Checked++
		var wrong []string
		if want := t.Type + "Ticket"; t.Type != "" && rec.ServiceType != want {
			wrong = append(wrong, fmt.Sprintf("service type %s, want %s", rec.ServiceType, want))
		}
		want, ok := Oracle(t.CreatedAt, rec.AnchorAt, t.Email, t.Severity)
		want = want.Shift(time.Duration(rec.Paused))
		if rec.Paused != 0 && !x.everBlocked(t.ID) {
			wrong = append(wrong, fmt.Sprintf("SLA clock paused for %s but the ticket was never blocked", rec.Paused))
		}
		if !ok {
			wrong = append(wrong, fmt.Sprintf("unknown severity %q", t.Severity))
		} else {
			wrong = appendMismatch(wrong, "deadline", rec.Deadline, want.Deadline)
			wrong = appendMismatch(wrong, "first reminder", rec.FirstAt, want.First)
			wrong = appendMismatch(wrong, "second reminder", rec.SecondAt, want.Second)
			wrong = appendMismatch(wrong, "final reminder", rec.FinalAt, want.Final)
		}
		if msg := x.createdAtTruth(t); msg != "" {
			wrong = append(wrong, msg)
		}
		if len(wrong) > 0 {
			msgs, traces := x.related(t.ID, "TicketQualified", "DeadlinesCalculated")
			r.Violations = append(r.Violations, Violation{Category: Mismatch, Subject: "ticket " + t.ID,
				Detail:     fmt.Sprintf("%s %s from %s: %s", t.Type, t.Severity, domainOf(t.Email), strings.Join(wrong, "; ")),
				MessageIDs: msgs, TraceIDs: traces})
		}
	}
	return finish(r)
}

func appendMismatch(wrong []string, what string, got *time.Time, want time.Time) []string {
	if got == nil {
		return append(wrong, what+" missing, want "+want.UTC().Format(time.RFC3339))
	}
	if d := got.Sub(want); d > arithmeticTolerance || d < -arithmeticTolerance {
		return append(wrong, fmt.Sprintf("%s %s, want %s (off by %s)", what,
			got.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339), d.Round(time.Millisecond)))
	}
	return wrong
}

// createdAtTruth checks the ticket's CreatedAt against the lab's clock: not
// before the submission, not after the end of the Tickets handling that
// created it (or the snapshot when no such span was recorded).
func (x *index) createdAtTruth(t *tfhistory.Ticket) string {
	s, ok := x.submission[t.ID]
	if !ok {
		return ""
	}
	latest := x.h.Snapshot.At
	for _, n := range x.v.AboutN(t.ID) {
		if h := x.head(n); h.Kind != history.KindProcess || h.Service != "tickets" || h.MessageType != "InquirySubmitted" {
			continue
		}
		e := x.ev(n)
		if e.Kind == history.KindProcess && e.Service == "tickets" && e.MessageType == "InquirySubmitted" && e.Committed() {
			latest = e.End
			break
		}
	}
	switch {
	case t.CreatedAt.Before(s.At.Add(-x.tol)):
		return fmt.Sprintf("created at %s, %s before it was submitted", t.CreatedAt.UTC().Format(time.RFC3339),
			s.At.Sub(t.CreatedAt).Round(time.Millisecond))
	case t.CreatedAt.After(latest.Add(x.tol)):
		return fmt.Sprintf("created at %s, %s after the ticket was created on the lab's clock", t.CreatedAt.UTC().Format(time.RFC3339),
			t.CreatedAt.Sub(latest).Round(time.Millisecond))
	}
	return ""
}

// everBlocked reports whether a block command for the ticket was accepted.
func (x *index) everBlocked(ticket string) bool {
	for _, c := range x.cmds {
		if c.TicketID == ticket && c.Kind == "block" && c.Accepted {
			return true
		}
	}
	return false
}

func domainOf(email string) string {
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		return email[at+1:]
	}
	return "unknown domain"
}

func uniq(ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = appendUnique(out, id)
	}
	return out
}
