package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// WriteTable prints the verdict table of a run: the steady-state probes
// before the method, the invariants, the probes after the run, then fault
// efficacy and the verdict:
//
//	INVARIANT                               RESULT    EVIDENCE                          EXAMPLE TRACE ID
//	steady state before: services-healthy   PASS      ok (took 12ms)                    -
//	TF1 NoLostInquiry                       PASS      30 accepted inquiries checked     -
//	TF2 ExactlyOnceEffects                  VIOLATED  74 effects checked; 2 duplicated… 4bf92f35…
//	steady state after: queues-empty        DEVIATED  sla-ticket-created holds 2 (too…  -
//	fault efficacy                          MET       deliveries.redelivered > 0 (12)   -
//	verdict: FAIL (exit 4) violated: TF2; also deviated: …
//
// An invariant a negative control expected to break reads "VIOLATED
// (expected)" or "PASS (expected violated)"; a failed probe reads NOT MET
// (before the method) or DEVIATED (after the run).
func WriteTable(w io.Writer, run Run) error {
	v := run.Verdict
	head := fmt.Sprintf("%s · seed %d", run.SuiteName(), run.History.Meta.Seed)
	if off := Unprotected(run.History.Meta.Protections); len(off) > 0 {
		head += " · unprotected: " + strings.Join(off, ",")
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "INVARIANT\tRESULT\tEVIDENCE\tEXAMPLE TRACE ID\n")
	probeRows := func(phase string) {
		for _, p := range v.Probes {
			if p.Phase == phase {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\n", p.Title(), p.Status(), oneLine(p.Evidence(), 90))
			}
		}
	}
	probeRows(history.ProbeBefore)
	for _, r := range v.Results {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", r.ID, r.Name, resultLabel(r), oneLine(r.Evidence(), 90), orDash(r.ExampleTraceID()))
	}
	probeRows(history.ProbeAfter)
	eff := "NOT MET"
	if EvidenceMet(v.Evidence) {
		eff = "MET"
	}
	var reqs []string
	for _, e := range v.Evidence {
		obs := "not recorded"
		if e.Present {
			obs = fmt.Sprint(e.Observed)
		}
		reqs = append(reqs, fmt.Sprintf("%s (%s)", e.Requirement, obs))
	}
	if len(reqs) == 0 {
		reqs = []string{"no evidence declared"}
	}
	fmt.Fprintf(tw, "fault efficacy\t%s\t%s\t-\n", eff, oneLine(strings.Join(reqs, "; "), 90))
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	_, err := fmt.Fprintf(w, "verdict: %s (exit %d) %s\n", v.Outcome, v.ExitCode, v.Reason)
	if err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

func resultLabel(r check.Result) string {
	switch {
	case r.Expected && r.Status == check.Violated:
		return "VIOLATED (expected)"
	case r.Expected:
		return string(r.Status) + " (expected violated)"
	}
	return string(r.Status)
}

func oneLine(s string, max int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
