package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/catalog"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// suiteRun is one run of a suite and its outcome; the JSON form is what
// `tflab suite --json` prints, a contract for CI scripts.
type suiteRun struct {
	Scenario string `json:"scenario"`
	Control  bool   `json:"control"`
	System   string `json:"system"`
	// Broker is "vhost <name>" on the suite's shared node, or "own".
	Broker  string `json:"broker"`
	Dir     string `json:"dir,omitempty"`
	Verdict string `json:"verdict"` // PASS, VIOLATED, INCONCLUSIVE… or ERROR
	Exit    int    `json:"exit"`
	Took    string `json:"took"`
	Reason  string `json:"reason"`

	plan *spec.Plan
	res  *run.Result
}

func (r *suiteRun) name() string {
	if r.Control {
		return r.Scenario + " (control)"
	}
	return r.Scenario
}

func newSuiteCmd(st *state) *cobra.Command {
	var (
		f            runFlags
		tags         []string
		withControls bool
		failFast     bool
		parallel     int
		shared       bool
		asJSON       bool
		system       string
	)
	cmd := &cobra.Command{
		Use:   "suite [NAME...]",
		Short: "Run the built-in scenarios (optionally with their negative controls), in parallel on one shared broker",
		Long: `Run every built-in scenario of a system (--system, default ticketflow; all:
every system's), the named ones (of any system unless --system is given), or
those carrying one of --tags, each against a fresh lab; with --with-controls
each scenario's negative control runs too.
Prints one line per finished run and a summary table (--json: a JSON array
with each run's verdict and run directory); --junit writes one JUnit file with
a test suite per run (for CI).

With the private broker, the suite starts one RabbitMQ node and gives every
run a virtual host of its own on it (--shared-broker, on by default): runs
cannot see each other's queues or connections, and the suite saves a node
boot and stop per run. Scenarios whose faults act on the node as a whole
(broker stop, memory or disk alarm) still get a node of their own.
--parallel N runs up to N labs at once; on a 2-core machine 2 or 3 is the
useful range, and timing-sensitive faults (heartbeats, latency) get less
precise the busier the machine is.

Exit code: 2 if a built-in scenario is malformed, 1 if a run could not be
carried out, else 4 if any run violated an invariant, did not restore its
steady state or was a control that failed to break, else 5 if any was
inconclusive (including a run whose steady state failed before its method,
shown with its probes like any run), else 0.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if parallel < 1 || parallel > 16 {
				return usageErrorf("--parallel %d: want 1 to 16", parallel)
			}
			c, err := loadCatalog()
			if err != nil {
				return err
			}
			scenarios, err := suiteScenarios(c, system, len(names) > 0, splitList(tags))
			if err != nil {
				return err
			}
			if len(names) > 0 {
				var picked []*spec.Scenario
				for _, n := range names {
					s, err := c.Lookup(n)
					if err != nil {
						return withCode(ExitUsage, err)
					}
					if system != "" && system != "all" && s.System != system {
						return usageErrorf("scenario %s is %s's, not --system %s's", n, s.System, system)
					}
					if slices.Contains(scenarios, s) {
						picked = append(picked, s)
					}
				}
				scenarios = picked
			}
			if len(scenarios) == 0 {
				which := cmp.Or(system, spec.DefaultSystem)
				if system == "" && len(names) > 0 {
					which = "all"
				}
				return usageErrorf("no scenario of --system %s is both named %v and tagged %v", which, names, tags)
			}
			var runs []*suiteRun
			for _, s := range scenarios {
				for _, control := range []bool{false, true} {
					if control && (!withControls || s.Control == nil) {
						continue
					}
					p, err := s.Plan(spec.PlanOptions{Control: control})
					if err != nil {
						return withCode(ExitUsage, err)
					}
					runs = append(runs, &suiteRun{Scenario: s.Name, Control: control, System: s.System, plan: p})
				}
			}
			if parallel > 1 {
				st.stderr = &syncWriter{w: st.stderr}
			}
			log := runLogger(cmd, st)
			ctx := cmd.Context()

			var base *broker.VHost
			if shared && f.bf.amqpURL == "" && f.bf.kind == "private" && needsShared(runs) {
				b, stop, err := startSharedBroker(ctx, st, &f, log)
				if err != nil {
					return err
				}
				defer stop()
				base = &broker.VHost{Base: b.Nodes()[0]}
			}
			execSuite(cmd, st, &f, runs, base, parallel, failFast, log)
			return reportSuite(st, &f, runs, asJSON)
		},
	}
	f.bind(cmd)
	cmd.Flags().StringSliceVar(&tags, "tags", nil, "run only scenarios with one of these tags (comma-separated)")
	cmd.Flags().BoolVar(&withControls, "with-controls", false, "also run each scenario's negative control")
	cmd.Flags().BoolVar(&failFast, "fail-fast", false, "start no further run after one that does not pass")
	cmd.Flags().IntVar(&parallel, "parallel", 1, "run up to this many labs at once")
	cmd.Flags().BoolVar(&shared, "shared-broker", true, "run the scenarios on one private node, a vhost per run (node-wide faults still get their own node)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as a JSON array instead of a table")
	cmd.Flags().StringVar(&system, "system", "", "only this system's scenarios (default: "+spec.DefaultSystem+", or the named ones'; all: every system's; known: "+systemNames()+")")
	return cmd
}

// suiteScenarios returns the scenarios tagged with one of tags (all when
// none) of the system the suite runs: system, or every system's for "all"
// and for a suite of named scenarios without --system, else the default
// system's.
func suiteScenarios(c *catalog.Catalog, system string, named bool, tags []string) ([]*spec.Scenario, error) {
	if system != "" && system != "all" {
		if _, err := lookupSystem("--system", system); err != nil {
			return nil, err
		}
	}
	if system == "" && !named {
		system = spec.DefaultSystem
	}
	return slices.DeleteFunc(c.Tagged(tags...), func(s *spec.Scenario) bool {
		return system != "" && system != "all" && s.System != system
	}), nil
}

// needsShared reports whether any run can use a shared node.
func needsShared(runs []*suiteRun) bool {
	for _, r := range runs {
		if !run.NeedsOwnBroker(r.plan) {
			return true
		}
	}
	return false
}

// startSharedBroker boots the suite's node under <out>/<time>-suite-broker.
func startSharedBroker(ctx context.Context, st *state, f *runFlags, log *slog.Logger) (*broker.PrivateBroker, func(), error) {
	prov, err := f.bf.provider(st, fmt.Sprintf("tflab%ds", os.Getpid()), false)
	if err != nil {
		return nil, nil, err
	}
	p, ok := prov.(broker.Private)
	if !ok {
		return nil, nil, fmt.Errorf("shared broker: want the private provider, have %s", prov.Name())
	}
	p.Disposable, p.Log = true, log
	dir, err := lab.NewRunDir(f.out, "suite-broker", time.Now())
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(st.stderr, "Starting the suite's shared RabbitMQ node in %s (each run gets a vhost of its own)\n", shortPath(dir))
	started, err := p.Start(ctx, dir)
	if err != nil {
		return nil, nil, envError(fmt.Errorf("shared broker: %w", err))
	}
	b := started.(*broker.PrivateBroker)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := b.Stop(sctx); err != nil {
			log.Warn("Stopping the shared broker", "err", err)
		}
	}
	return b, stop, nil
}

// execSuite carries out the runs, up to parallel at once. Runs that need a
// node of their own start first: they take longest.
func execSuite(cmd *cobra.Command, st *state, f *runFlags, runs []*suiteRun, base *broker.VHost, parallel int, failFast bool, log *slog.Logger) {
	order := make([]*suiteRun, 0, len(runs))
	for _, own := range []bool{true, false} {
		for _, r := range runs {
			if run.NeedsOwnBroker(r.plan) == own {
				order = append(order, r)
			}
		}
	}
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, parallel)
		mu     sync.Mutex
		failed bool
	)
	for i, r := range order {
		sem <- struct{}{}
		mu.Lock()
		stop := cmd.Context().Err() != nil || (failFast && failed)
		mu.Unlock()
		if stop {
			<-sem
			break
		}
		opts := planOptions{quiet: parallel > 1}
		r.Broker = "own"
		if base != nil && !run.NeedsOwnBroker(r.plan) {
			vh := fmt.Sprintf("run%d-%s", i+1, r.Scenario)
			if r.Control {
				vh += "-control"
			}
			v := *base
			v.VHost = vh
			opts.broker = v
			r.Broker = "vhost " + vh
		}
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			res, err := runPlan(cmd, st, f, r.plan, r.System, log, opts)
			r.Took = time.Since(start).Round(100 * time.Millisecond).String()
			if err != nil {
				r.Verdict, r.Exit, r.Reason = "ERROR", int(exitCodeOf(err)), err.Error()
			} else {
				v := res.Verdict
				r.res, r.Dir = res, res.Dir
				r.Verdict, r.Exit, r.Reason = string(v.Outcome), v.ExitCode, v.Reason
			}
			fmt.Fprintf(st.stderr, "%s: %s (exit %d) in %s: %s\n", r.name(), r.Verdict, r.Exit, r.Took, r.Reason)
			if r.Exit != 0 {
				mu.Lock()
				failed = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// reportSuite prints the summary, writes the JUnit file and returns the
// suite's exit code: the worst run's.
func reportSuite(st *state, f *runFlags, runs []*suiteRun, asJSON bool) error {
	done := make([]*suiteRun, 0, len(runs))
	var judged []report.Run
	for _, r := range runs {
		if r.Verdict == "" {
			continue // not started: interrupted or --fail-fast
		}
		done = append(done, r)
		if r.res != nil {
			judged = append(judged, report.Run{History: r.res.History, Verdict: r.res.Verdict, Counts: r.res.Counts})
		}
	}
	if asJSON {
		enc := json.NewEncoder(st.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(done); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(st.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tVERDICT\tEXIT\tTOOK\tBROKER\tREASON")
		for _, r := range done {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.name(), r.Verdict, r.Exit, r.Took, r.Broker, r.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if f.junit != "" && len(judged) > 0 {
		if err := writeJUnitFile(f.junit, judged...); err != nil {
			return err
		}
	}
	// A run that could not be carried out (error, usage, environment)
	// outranks a verdict.
	rank := func(c ExitCode) int {
		switch c {
		case ExitPass:
			return 0
		case ExitInconclusive:
			return 1
		case ExitViolated:
			return 2
		}
		return 3
	}
	worst, notPassed := ExitPass, 0
	var errs []error
	for _, r := range done {
		code := ExitCode(r.Exit)
		if code != ExitPass {
			notPassed++
		}
		if r.Verdict == "ERROR" {
			errs = append(errs, fmt.Errorf("%s: %s", r.name(), r.Reason))
		}
		if rank(code) > rank(worst) {
			worst = code
		}
	}
	skipped := ""
	if n := len(runs) - len(done); n > 0 {
		skipped = fmt.Sprintf(" (%d not started)", n)
		if worst == ExitPass {
			worst = ExitError
		}
	}
	if worst == ExitPass {
		return nil
	}
	msg := fmt.Sprintf("suite: %d of %d runs did not pass%s", notPassed, len(done), skipped)
	if len(errs) > 0 {
		msg += "; errors: " + errors.Join(errs...).Error()
	}
	return withCode(worst, errors.New(msg))
}

// syncWriter serializes writes of parallel runs to one stream.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
