package workload

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Tally counts one kind's requests by outcome.
type Tally struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	Unknown  int `json:"unknown"`
}

// Summary is what a run came to.
type Summary struct {
	Planned  Counts           `json:"planned"`
	Kinds    map[string]Tally `json:"kinds"`
	Duration time.Duration    `json:"duration"`
	// Rate is the lifecycles started per second achieved.
	Rate float64 `json:"rate"`
}

// Summarize counts a run's records.
func Summarize(p *Plan, res *Result) Summary {
	s := Summary{Planned: p.Counts(), Kinds: map[string]Tally{}, Duration: res.End.Sub(res.Start)}
	for _, r := range res.Records {
		t := s.Kinds[r.Kind]
		switch r.Outcome {
		case OutcomeAccepted:
			t.Accepted++
		case OutcomeRejected:
			t.Rejected++
		default:
			t.Unknown++
		}
		s.Kinds[r.Kind] = t
	}
	if d := p.Duration(); d > 0 {
		s.Rate = float64(len(p.Tickets)-1) / d.Seconds()
	}
	return s
}

var kindOrder = []string{KindSignup, KindTicketCreate, KindTicketUpdate, KindOrderPlace, KindPayment, KindOrderCancel}

// WriteTable prints the summary as a table.
func (s Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "REQUEST\tACCEPTED\tREJECTED\tUNKNOWN\n")
	for _, k := range kindOrder {
		t := s.Kinds[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", k, t.Accepted, t.Rejected, t.Unknown)
	}
	for k, t := range s.Kinds {
		if !slices.Contains(kindOrder, k) {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", k, t.Accepted, t.Rejected, t.Unknown)
		}
	}
	p := s.Planned
	fmt.Fprintf(tw, "\nplanned: %d tickets, %d price updates, %d ordered (%d orders): %d to pay (%d twice, %d cancelled once paid), %d to cancel, %d to expire\n",
		p.Tickets, p.Updates, p.Ordered, p.Orders, p.Pay, p.DoublePay, p.CancelPaid, p.Cancel, p.Expire)
	fmt.Fprintf(tw, "took %s\n", s.Duration.Round(time.Millisecond))
	return tw.Flush()
}
