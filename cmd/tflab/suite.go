package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

func newSuiteCmd(st *state) *cobra.Command {
	var (
		f            runFlags
		tags         []string
		withControls bool
		failFast     bool
	)
	cmd := &cobra.Command{
		Use:   "suite",
		Short: "Run the built-in scenarios (optionally with their negative controls) one after another",
		Long: `Run every built-in scenario, or those carrying one of --tags, each against a
fresh lab, one after another; with --with-controls each scenario's negative
control runs right after it. Prints one line per run and a summary; --junit
writes one JUnit file with a test suite per run (for CI).

Exit code: 1 if a run could not be carried out, else 4 if any run violated an
invariant (or a control failed to break), else 5 if any was inconclusive,
else 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := catalog.Load()
			if err != nil {
				return err
			}
			scenarios := c.Tagged(splitList(tags)...)
			if len(scenarios) == 0 {
				return usageErrorf("no scenario carries the tags %v", tags)
			}
			log := runLogger(cmd, st)
			var (
				runs    []report.Run
				worst   = ExitPass
				errs    []error
				results [][]string
			)
			rank := map[ExitCode]int{ExitPass: 0, ExitInconclusive: 1, ExitViolated: 2, ExitError: 3}
		scenarios:
			for _, s := range scenarios {
				for _, control := range []bool{false, true} {
					if control && (!withControls || s.Control == nil) {
						continue
					}
					if cmd.Context().Err() != nil {
						break scenarios
					}
					p, err := s.Plan(spec.PlanOptions{Control: control})
					if err != nil {
						return withCode(ExitUsage, err)
					}
					name := s.Name
					if control {
						name += " (control)"
					}
					start := time.Now()
					res, err := runPlan(cmd, st, &f, p, s.System, log)
					took := time.Since(start).Round(100 * time.Millisecond).String()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", name, err))
						results = append(results, []string{name, "ERROR", "1", took, err.Error()})
						if rank[ExitError] > rank[worst] {
							worst = ExitError
						}
						if cmd.Context().Err() != nil || failFast {
							break scenarios
						}
						continue
					}
					v := res.Verdict
					runs = append(runs, report.Run{History: res.History, Verdict: v})
					results = append(results, []string{name, string(v.Outcome), fmt.Sprint(v.ExitCode), took, v.Reason})
					fmt.Fprintf(st.stderr, "%s: %s (exit %d) in %s: %s\n", name, v.Outcome, v.ExitCode, took, v.Reason)
					if code := ExitCode(v.ExitCode); rank[code] > rank[worst] {
						worst = code
					}
					if failFast && v.ExitCode != 0 {
						break scenarios
					}
				}
			}
			tw := tabwriter.NewWriter(st.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tVERDICT\tEXIT\tTOOK\tREASON")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3], r[4])
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if f.junit != "" && len(runs) > 0 {
				if err := writeJUnitFile(f.junit, runs...); err != nil {
					return err
				}
			}
			if worst == ExitPass {
				return nil
			}
			return withCode(worst, fmt.Errorf("suite: %d of %d runs did not pass%s", countNotPassed(results), len(results), joinErrs(errs)))
		},
	}
	f.bind(cmd)
	cmd.Flags().StringSliceVar(&tags, "tags", nil, "run only scenarios with one of these tags (comma-separated)")
	cmd.Flags().BoolVar(&withControls, "with-controls", false, "run each scenario's negative control after it")
	cmd.Flags().BoolVar(&failFast, "fail-fast", false, "stop at the first run that does not pass")
	return cmd
}

func countNotPassed(results [][]string) int {
	n := 0
	for _, r := range results {
		if r[2] != "0" {
			n++
		}
	}
	return n
}

func joinErrs(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	return "; errors: " + errors.Join(errs...).Error()
}
