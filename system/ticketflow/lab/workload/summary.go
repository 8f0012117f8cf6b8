package workload

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Summary is what a run achieved. Counts are of inquiries (one ticket each).
type Summary struct {
	Planned   int `json:"planned"`
	Submitted int `json:"submitted"`
	Accepted  int `json:"accepted"` // 2xx from POST /inquiries/submit
	Rejected  int `json:"rejected"` // submitted but not accepted (an error status or no answer)
	Ticketed  int `json:"ticketed"` // a ticket exists
	// Stuck inquiries were accepted but their ticket was not ready for the
	// desk within TicketTimeout.
	Stuck      int `json:"stuck"`
	NonEnglish int `json:"nonEnglish"` // accepted inquiries written in another language
	Translated int `json:"translated"` // of those, tickets with a translated description
	Qualified  int `json:"qualified"`
	Deadlines  int `json:"deadlines"` // tickets with an SLA deadline
	Assigned   int `json:"assigned"`
	Blocked    int `json:"blocked"`  // blocked and unblocked
	Resolved   int `json:"resolved"` // resolve accepted
	// InquiriesResolved counts resolved tickets whose inquiry the Inquiries
	// service shows Resolved.
	InquiriesResolved int `json:"inquiriesResolved"`
	// Notified counts resolved tickets whose customer got a closure message;
	// ExtraNotices the closure messages beyond one per ticket.
	Notified     int `json:"notified"`
	ExtraNotices int `json:"extraNotices"`
	// NotifyChecked is false when no Communication endpoint was given.
	NotifyChecked bool `json:"notifyChecked"`
	Commands      int  `json:"commands"`        // desk command requests sent (retries included)
	CommandErrors int  `json:"commandErrors"`   // of those, not answered 2xx
	Failed        int  `json:"failedLifecycle"` // lifecycles that stopped on an error

	// Latencies from the submission: until the ticket was first seen in
	// Tickets; until the resolve command was answered; until the closure
	// message (Communication's timestamp, so on the service's clock).
	SubmitToTicket   Latency `json:"submitToTicket"`
	SubmitToResolved Latency `json:"submitToResolved"`
	SubmitToNotified Latency `json:"submitToNotified"`

	Duration history.Duration `json:"duration"`
	Rate     float64          `json:"rate"` // achieved submissions per second
	Errors   []string         `json:"errors,omitempty"`
}

// Latency is a distribution over N samples (nearest-rank percentiles).
// Durations are Go duration text in JSON ("12.5ms").
type Latency struct {
	N   int              `json:"n"`
	P50 history.Duration `json:"p50"`
	P99 history.Duration `json:"p99"`
	Max history.Duration `json:"max"`
}

func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	rank := func(p float64) history.Duration {
		return history.Duration(ds[max(int(math.Ceil(p*float64(len(ds))))-1, 0)])
	}
	return Latency{N: len(ds), P50: rank(0.50), P99: rank(0.99), Max: history.Duration(ds[len(ds)-1])}
}

const maxErrors = 10

func summarize(res *Result, cfg Config, sweepErrs []string) Summary {
	s := Summary{Planned: len(res.Outcomes), NotifyChecked: cfg.Endpoints.Communication != "", Duration: history.Duration(res.End.Sub(res.Start))}
	var toTicket, toResolved, toNotified []time.Duration
	errCount := map[string]int{}
	var first, last time.Time
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		if o.Err != "" {
			if errCount[o.Err]++; errCount[o.Err] == 1 && len(s.Errors) < maxErrors {
				s.Errors = append(s.Errors, o.Err)
			}
		}
		if o.SubmittedAt.IsZero() {
			continue
		}
		s.Submitted++
		if first.IsZero() || o.SubmittedAt.Before(first) {
			first = o.SubmittedAt
		}
		if o.SubmittedAt.After(last) {
			last = o.SubmittedAt
		}
		if !o.Accepted {
			s.Rejected++
			continue
		}
		s.Accepted++
		if !o.TicketAt.IsZero() || o.TicketStatus != "" {
			s.Ticketed++
		}
		s.Stuck += b2i(o.Stuck)
		if !o.TicketAt.IsZero() {
			toTicket = append(toTicket, o.TicketAt.Sub(o.SubmittedAt))
		}
		if o.Plan.Language != "en" {
			s.NonEnglish++
			if o.Translated {
				s.Translated++
			}
		}
		s.Qualified += b2i(o.Qualified)
		s.Deadlines += b2i(o.Deadline)
		s.Assigned += b2i(o.Assigned)
		s.Blocked += b2i(o.Blocked && o.Unblocked)
		if o.Resolved {
			s.Resolved++
			if !o.ResolvedAt.IsZero() {
				toResolved = append(toResolved, o.ResolvedAt.Sub(o.SubmittedAt))
			}
			s.InquiriesResolved += b2i(o.InquiryStatus == inquiryResolved)
		}
		if o.Notices > 0 {
			s.Notified++
			s.ExtraNotices += o.Notices - 1
			toNotified = append(toNotified, o.NotifiedAt.Sub(o.SubmittedAt))
		}
		if o.Err != "" {
			s.Failed++
		}
	}
	for _, c := range res.Commands {
		s.Commands++
		s.CommandErrors += b2i(!c.Accepted)
	}
	for _, e := range sweepErrs {
		if len(s.Errors) < maxErrors {
			s.Errors = append(s.Errors, e)
		}
	}
	s.SubmitToTicket, s.SubmitToResolved, s.SubmitToNotified = latencyOf(toTicket), latencyOf(toResolved), latencyOf(toNotified)
	if span := last.Sub(first).Seconds(); s.Submitted > 1 && span > 0 {
		s.Rate = float64(s.Submitted-1) / span
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteTable prints the summary as an aligned table.
func (s Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	pct := func(n, of int) string {
		if of == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
	}
	row := func(name string, n, of int, note string) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", name, n, pct(n, of), note)
	}
	fmt.Fprintln(tw, "STAGE\tCOUNT\tSHARE\tOF")
	row("submitted", s.Submitted, s.Planned, "planned")
	row("accepted", s.Accepted, s.Submitted, "submitted")
	row("ticketed", s.Ticketed, s.Accepted, "accepted")
	row("translated", s.Translated, s.NonEnglish, fmt.Sprintf("non-English (%d)", s.NonEnglish))
	row("qualified", s.Qualified, s.Ticketed, "ticketed")
	row("SLA deadline set", s.Deadlines, s.Qualified, "qualified")
	row("assigned", s.Assigned, s.Qualified, "qualified")
	row("blocked+unblocked", s.Blocked, s.Qualified, "qualified")
	row("resolved", s.Resolved, s.Ticketed, "ticketed")
	row("inquiry resolved", s.InquiriesResolved, s.Resolved, "resolved")
	if s.NotifyChecked {
		row("customer notified", s.Notified, s.Resolved, fmt.Sprintf("resolved; %d extra closure messages", s.ExtraNotices))
	} else {
		fmt.Fprintln(tw, "customer notified\t-\t-\tno Communication endpoint")
	}
	row("stuck", s.Stuck, s.Accepted, "accepted: no ticket ready in time")
	row("command errors", s.CommandErrors, s.Commands, "commands sent")
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "LATENCY\tN\tP50\tP99\tMAX")
	for _, l := range []struct {
		name string
		l    Latency
	}{{"submit → ticket", s.SubmitToTicket}, {"submit → resolved", s.SubmitToResolved}, {"submit → notified", s.SubmitToNotified}} {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", l.name, l.l.N, round(l.l.P50), round(l.l.P99), round(l.l.Max))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d inquiries in %s (%.1f submissions/s achieved)\n", s.Submitted, round(s.Duration), s.Rate)
	for _, e := range s.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	return nil
}

func round(hd history.Duration) time.Duration {
	d := time.Duration(hd)
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(100 * time.Microsecond)
	}
}
