package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/broker"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// runFlags are shared by run and suite.
type runFlags struct {
	bf       brokerFlags
	out      string
	junit    string
	settings map[string]string
	progress bool
	// reuseVHost lets a run on an external broker use a vhost that
	// already holds the system's queues.
	reuseVHost bool
	// consoleURL is a console serving the runs under out: the report links
	// each violation to its follow-a-message page.
	consoleURL string
}

func (f *runFlags) bind(cmd *cobra.Command) {
	f.bf.bind(cmd, false)
	f.bf.bindLab(cmd)
	f.bf.nodes = 1
	cmd.Flags().StringVar(&f.out, "out", runsRoot, "folder that receives the run directory <time>-<scenario>/")
	cmd.Flags().StringVar(&f.junit, "junit", "", "also write the JUnit XML to this file")
	cmd.Flags().StringToStringVar(&f.settings, "set", nil, "extra service setting for every service, e.g. --set max-attempts=3")
	cmd.Flags().BoolVar(&f.progress, "progress", true, "print a progress line every second on stderr")
	cmd.Flags().BoolVar(&f.reuseVHost, "reuse-vhost", false, "with --amqp-url and no vhost of its own: run even in a vhost that already holds the system's queues")
	cmd.Flags().StringVar(&f.consoleURL, "console-url", "", "a console serving --out's runs (its base URL): report.html links each violation to its follow-a-message page too")
}

// runLogger is the runner's logger: warnings only unless --log-level was
// given, so the progress lines and the verdict are what a learner sees. The
// services still log at info into their log files (serviceLogLevel).
func runLogger(cmd *cobra.Command, st *state) *slog.Logger {
	if !cmd.Root().PersistentFlags().Changed("log-level") {
		st.logLevel = slog.LevelWarn
		st.serviceLogLevel = "info"
	}
	return st.logger()
}

var labSeq atomic.Int64

// labTemplate is the lab a scenario of system sys runs in, with scale
// instances of the services it names.
func labTemplate(st *state, sys string, scale map[string]int, f *runFlags, log *slog.Logger) (lab.Config, error) {
	s, err := lookupSystem("scenario system", sys)
	if err != nil {
		return lab.Config{}, err
	}
	specs, err := serviceSpecs(s, scale)
	if err != nil {
		return lab.Config{}, err
	}
	prov, err := f.bf.provider(st, fmt.Sprintf("tflab%dr%d", os.Getpid(), labSeq.Add(1)), false)
	if err != nil {
		return lab.Config{}, err
	}
	if ext, ok := prov.(broker.External); ok {
		// A fresh vhost per run where the credentials allow it, deleted
		// at the end; otherwise never silently into the system's queues.
		prov = broker.ExternalRun{External: ext, VHost: fmt.Sprintf("tflab-run-%d-%d", os.Getpid(), labSeq.Add(1)),
			Queues: s.Queues, Reuse: f.reuseVHost, Log: log}
	} else if f.reuseVHost {
		return lab.Config{}, usageErrorf("--reuse-vhost goes with --amqp-url")
	}
	if p, ok := prov.(broker.Private); ok {
		// A run's node is judged and thrown away: kill it, don't spend
		// seconds on a graceful stop.
		p.Disposable = true
		prov = p
	}
	queueType, partitions, err := f.bf.labSettings()
	if err != nil {
		return lab.Config{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return lab.Config{}, fmt.Errorf("find the tflab binary: %w", err)
	}
	return lab.Config{
		System: sys, Note: s.Note, Services: specs, Broker: prov,
		QueueType: queueType, PartitionHandling: partitions,
		Command: []string{exe, "--log-level=" + serviceLevel(st), "serve"},
		Log:     log,
	}, nil
}

// serviceLevel is the --log-level the service processes get.
func serviceLevel(st *state) string {
	if st.serviceLogLevel != "" {
		return st.serviceLogLevel
	}
	return strings.ToLower(st.logLevel.String())
}

// planOptions adjust one run of runPlan.
type planOptions struct {
	// broker replaces the lab's broker provider (a suite's shared node).
	broker broker.Provider
	// quiet drops the per-second progress lines (parallel suite runs).
	quiet bool
}

// runPlan runs one plan into a fresh run directory under f.out.
func runPlan(cmd *cobra.Command, st *state, f *runFlags, p *spec.Plan, system string, log *slog.Logger, opts planOptions) (*run.Result, error) {
	if err := checkClusterSteps(p, max(f.bf.nodes, p.Nodes)); err != nil {
		return nil, err
	}
	removeStaleTables(log)
	tmpl, err := labTemplate(st, system, p.Scale, f, log)
	if err != nil {
		return nil, err
	}
	if opts.broker != nil {
		tmpl.Broker = opts.broker
	}
	dir, err := run.RunDir(f.out, p, time.Now())
	if err != nil {
		return nil, err
	}
	var progress io.Writer
	if f.progress && !opts.quiet {
		progress = st.stderr
	}
	what := "scenario"
	if p.Control {
		what = "negative control"
	}
	fmt.Fprintf(st.stderr, "Running %s %s (seed %d) in %s\n", what, p.Scenario, p.Seed, shortPath(dir))
	sys, err := lookupSystem("scenario system", system)
	if err != nil {
		return nil, err
	}
	settings, err := applyPlanProfile(sys, p, f.settings)
	if err != nil {
		return nil, err
	}
	res, err := run.Run(cmd.Context(), run.Config{Plan: p, Lab: tmpl, Dir: dir, Settings: settings,
		System: sys, Progress: progress, Log: log, ConsoleURL: f.consoleURL})
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, run.ErrSteadyState) && res != nil:
		// Not started: the verdict (INCONCLUSIVE, exit 5) names the probe
		// and why, and the run directory holds its reports.
		return res, nil
	case errors.Is(err, run.ErrInterrupted):
		return nil, fmt.Errorf("%w; every fault was healed and the lab stopped (run dir %s)", err, shortPath(dir))
	case errors.Is(err, run.ErrUnsupported):
		return nil, withCode(ExitUsage, err)
	}
	return nil, envError(fmt.Errorf("%w (run dir %s)", err, shortPath(dir)))
}

func newRunCmd(st *state) *cobra.Command {
	var (
		f         runFlags
		seed      int64
		unprotect []string
		control   bool
	)
	cmd := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Run a scenario: workload plus faults against a fresh lab, then judge the invariants",
		Long: `Run one scenario (a built-in name, see 'tflab scenarios list', or a scenario
file) against a fresh lab on random ports: steady-state probes, the seeded
workload while the fault timeline runs, heal, settle, probes again, then judge
the invariants (TF1–TF10) from the spans, the services' databases and what the
broker still holds.

--control runs the scenario's negative control: a protection switched off (or
the fault aimed where no defence exists), which must produce the named
violation. --unprotect dedup,outbox:sla switches protections off by hand.

With --amqp-url (a broker of your own) the run creates a fresh vhost and
deletes it at the end when --management-url is given with credentials that
may create vhosts; otherwise it runs in the URL's vhost, refuses one that
already holds the system's queues (--reuse-vhost overrides), and evidence
read from the management API is reported as "needs --management-url".

Everything lands in <out>/<time>-<scenario>/: lab.json, logs/, traces/, db/,
history.json, events.jsonl, journal.json, junit.xml, report.html.
A steady-state probe that fails before the method stops the run: nothing is
injected, the reports show the probes, and tflab exits 5 naming the probe.
A probe that fails after the run fails it (exit 4, "deviated").

Exit codes: 0 pass, 1 error, 2 bad usage or scenario file (every error in it
is listed, file:line: message), 3 environment not usable, 4 invariant
violated or steady state not restored, 5 inconclusive (the fault left no
evidence, or the steady state did not hold before the method).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := loadScenario(args[0])
			if err != nil {
				return err
			}
			opts := spec.PlanOptions{Control: control, Unprotect: splitList(unprotect)}
			if cmd.Flags().Changed("seed") {
				opts.Seed = &seed
			}
			p, err := s.Plan(opts)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			if err := run.CheckSupported(p); err != nil {
				return withCode(ExitUsage, err)
			}
			res, err := runPlan(cmd, st, &f, p, s.System, runLogger(cmd, st), planOptions{})
			if err != nil {
				return err
			}
			rr := report.Run{History: res.History, Verdict: res.Verdict, Counts: res.Counts}
			if err := report.WriteTable(st.stdout, rr); err != nil {
				return err
			}
			fmt.Fprintf(st.stdout, "run directory: %s (report.html, journal.json, junit.xml)\n", shortPath(res.Dir))
			if res.Spans.Bad > 0 || res.Spans.Torn > 0 {
				fmt.Fprintf(st.stdout, "span files: %d torn and %d malformed lines skipped\n", res.Spans.Torn, res.Spans.Bad)
			}
			if f.junit != "" {
				if err := writeJUnitFile(f.junit, rr); err != nil {
					return err
				}
			}
			return verdictError(res)
		},
	}
	f.bind(cmd)
	cmd.Flags().Int64Var(&seed, "seed", 0, "seed for every random choice (default: the scenario's)")
	cmd.Flags().StringSliceVar(&unprotect, "unprotect", nil, "protections to switch off: dedup, or dedup:sla for one service (repeatable, comma-separated)")
	cmd.Flags().BoolVar(&control, "control", false, "run the scenario's negative control")
	return cmd
}

// verdictError maps a judged run to its exit code (nil for a pass).
func verdictError(res *run.Result) error {
	switch ExitCode(res.Verdict.ExitCode) {
	case ExitPass:
		return nil
	case ExitViolated:
		return withCode(ExitViolated, fmt.Errorf("%s: %s", res.Verdict.Outcome, res.Verdict.Reason))
	default:
		return withCode(ExitCode(res.Verdict.ExitCode), fmt.Errorf("%s: %s", res.Verdict.Outcome, res.Verdict.Reason))
	}
}

func writeJUnitFile(path string, runs ...report.Run) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteJUnit(f, runs...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// splitList flattens repeated and comma-separated flag values.
func splitList(in []string) []string {
	var out []string
	for _, v := range in {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
