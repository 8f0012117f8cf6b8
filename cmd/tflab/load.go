package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
)

func newLoadCmd(st *state) *cobra.Command {
	var (
		cfg       workload.Config
		languages string
		seed      int64
		runDir    string
		asJSON    bool
		sys       systemLoadFlags
	)
	cfg.Shares = workload.DefaultShares
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Drive inquiries through a running lab: submit, qualify, assign, block, resolve",
		Long: `Play customers and the service desk against the running lab (the newest under
runs/, or --run-dir): submit --inquiries N at --rate R per second in the given
languages, wait for each ticket (translated when not English), then qualify,
assign, block/unblock and resolve it as the shares say. All choices come from
--seed. At the end it waits up to --settle for the inquiries to show Resolved
and the customers to be notified, and prints a summary: accepted, ticketed,
translated, resolved, notified, and p50/p99 latencies submit → ticket,
submit → resolved and submit → notified.

--languages takes codes (en,pl,de: equal weights) or weights (en=3,pl=1);
the generator writes en, pl, de, es and fr. The full record (every
submission and command, in the scenario history's format, plus the summary)
is written to <run-dir>/load/<time>-seed<N>.json.

Another system (the running lab's, or --system) is driven by its own
workload: the keys of a scenario's workload block, from --workload FILE and
--set key=value (e.g. tflab load --system ticketsale --set tickets=50
--set payShare=0.5); see 'tflab scenarios schema --system NAME'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sys.name != "" {
				if _, err := lookupSystem("--system", sys.name); err != nil {
					return err
				}
			}
			dir, in, err := findLab(runDir)
			if err != nil {
				return withCode(ExitEnvironment, err)
			}
			if !lab.ControlAlive(in) {
				return withCode(ExitEnvironment, fmt.Errorf("the lab in %s is not running (start one with 'tflab up')", shortPath(dir)))
			}
			if sys.name != "" && sys.name != in.System {
				return usageErrorf("--system %s: the lab in %s runs %s", sys.name, shortPath(dir), in.System)
			}
			if in.System != ticketflow.Name {
				if err := ticketflowOnly(cmd.Flags(), in.System); err != nil {
					return err
				}
				seedPtr := &seed
				if !cmd.Flags().Changed("seed") {
					seedPtr = nil
				}
				return runSystemLoad(cmd.Context(), st, sys, seedPtr, asJSON, dir, in)
			}
			if len(sys.sets) > 0 || sys.file != "" {
				return usageErrorf("ticketflow's load takes its own flags (--inquiries, --rate, …), not --set or --workload")
			}
			langs, err := parseLanguages(languages)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			cfg.Languages = langs
			ep, err := loadEndpoints(in)
			if err != nil {
				return withCode(ExitEnvironment, err)
			}
			cfg.Endpoints = ep
			if !cmd.Flags().Changed("seed") {
				seed = time.Now().UnixNano()
			}
			cfg.Log = st.logger().With("component", "load")
			plan, err := workload.Plan(cfg, rand.New(rand.NewPCG(uint64(seed), 0x6c6f6164))) // "load"
			if err != nil {
				return withCode(ExitUsage, err)
			}
			cfg.Progress = progressPrinter(st.stderr)
			fmt.Fprintf(st.stderr, "load: %d inquiries at %g/s against %s (seed %d)\n", cfg.Inquiries, cfg.Rate, shortPath(dir), seed)
			res, runErr := workload.RunPlan(cmd.Context(), cfg, plan)
			if res == nil {
				return runErr
			}
			file, err := saveLoad(dir, seed, cfg, res)
			if err != nil {
				runErr = errors.Join(runErr, err)
			}
			if asJSON {
				enc := json.NewEncoder(st.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(loadReport{Seed: seed, RunDir: dir, File: file, Summary: res.Summary}); err != nil {
					return err
				}
			} else {
				if err := res.Summary.WriteTable(st.stdout); err != nil {
					return err
				}
				if file != "" {
					fmt.Fprintf(st.stdout, "record: %s\n", shortPath(file))
				}
			}
			if runErr != nil {
				return runErr
			}
			if res.Summary.Accepted == 0 {
				return errors.New("no inquiry was accepted")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Inquiries, "inquiries", 20, "how many inquiries to submit")
	f.Float64Var(&cfg.Rate, "rate", 5, "submissions per second")
	f.StringVar(&languages, "languages", "en", "languages of the texts: en,pl,de or weighted en=3,pl=1 (known: "+strings.Join(workload.Languages(), ",")+")")
	f.Float64Var(&cfg.Shares.Qualify, "qualify-share", cfg.Shares.Qualify, "share of tickets qualified")
	f.Float64Var(&cfg.Shares.Assign, "assign-share", cfg.Shares.Assign, "share of qualified tickets assigned to an agent")
	f.Float64Var(&cfg.Shares.Block, "block-share", cfg.Shares.Block, "share of qualified tickets blocked, then unblocked")
	f.Float64Var(&cfg.Shares.Resolve, "resolve-share", cfg.Shares.Resolve, "share of tickets resolved")
	f.Float64Var(&cfg.Shares.VIP, "vip-share", cfg.Shares.VIP, "share of customers on the VIP SLA (devmentors.io)")
	f.Float64Var(&cfg.Shares.Incident, "incident-share", cfg.Shares.Incident, "share of qualified tickets that are incidents")
	f.DurationVar(&cfg.Settle, "settle", 20*time.Second, "at most this long after the last lifecycle to wait for inquiries resolved and customers notified")
	f.DurationVar(&cfg.TicketTimeout, "ticket-timeout", 30*time.Second, "how long an inquiry may take to become a ticket ready for the desk")
	f.DurationVar(&cfg.Think, "think", 0, "longest pause between two desk commands on a ticket (seeded)")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", 256, "most lifecycles at once")
	f.DurationVar(&cfg.Timeout, "timeout", 0, "bound on the whole run (default: inquiries/rate + ticket-timeout + settle + 1m)")
	f.Int64Var(&seed, "seed", 0, "seed for every choice (default: from the clock; printed)")
	f.StringVar(&runDir, "run-dir", "", "the lab's run directory (default: the newest running lab under runs/)")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	sys.register(f)
	return cmd
}

// parseLanguages reads "en,pl" (equal weights) or "en=3,pl=1".
func parseLanguages(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		code, w, hasW := strings.Cut(part, "=")
		code = strings.ToLower(strings.TrimSpace(code))
		weight := 1.0
		if hasW {
			v, err := strconv.ParseFloat(strings.TrimSpace(w), 64)
			if err != nil || !(v > 0) {
				return nil, fmt.Errorf("--languages %q: weight of %s must be a positive number", s, code)
			}
			weight = v
		}
		if _, dup := out[code]; dup {
			return nil, fmt.Errorf("--languages %q: %s given twice", s, code)
		}
		out[code] = weight
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--languages %q: name at least one language", s)
	}
	return out, nil
}

// loadEndpoints finds the first instance of each service the generator talks to.
func loadEndpoints(in lab.Info) (workload.Endpoints, error) {
	var ep workload.Endpoints
	// A fixed order, so the error always names the first missing service.
	for _, want := range []struct {
		name string
		dst  *string
	}{{"inquiries", &ep.Inquiries}, {"tickets", &ep.Tickets}, {"communication", &ep.Communication}} {
		name, dst := want.name, want.dst
		s, ok := in.Services[name]
		if !ok || s.HTTP == "" {
			if name == "communication" {
				continue
			}
			return ep, fmt.Errorf("the lab in %s (system %s) has no %s service: load needs the Ticketflow services", shortPath(in.RunDir), in.System, name)
		}
		*dst = s.HTTP
	}
	return ep, nil
}

// progressPrinter rewrites one status line on a terminal, else prints a
// line every 5 s.
func progressPrinter(w io.Writer) func(workload.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var last time.Time
	return func(p workload.Progress) {
		line := fmt.Sprintf("load: %5.1fs %-8s submitted %d/%d  accepted %d  ticketed %d  resolved %d  failed %d  in flight %d",
			p.Elapsed.Seconds(), p.Phase, p.Submitted, p.Planned, p.Accepted, p.Ticketed, p.Resolved, p.Failed, p.InFlight)
		switch {
		case tty:
			end := ""
			if p.Phase == "done" {
				end = "\n"
			}
			fmt.Fprintf(w, "\r\033[K%s%s", line, end)
		case p.Phase == "done" || time.Since(last) >= 5*time.Second:
			last = time.Now()
			fmt.Fprintln(w, line)
		}
	}
}

type loadReport struct {
	Seed    int64            `json:"seed"`
	RunDir  string           `json:"runDir"`
	File    string           `json:"file,omitempty"`
	Summary workload.Summary `json:"summary"`
}

// saveLoad writes the run's record next to the lab's other files.
func saveLoad(runDir string, seed int64, cfg workload.Config, res *workload.Result) (string, error) {
	body := struct {
		Seed      int64              `json:"seed"`
		Inquiries int                `json:"inquiries"`
		Rate      float64            `json:"rate"`
		Languages map[string]float64 `json:"languages"`
		Shares    workload.Shares    `json:"shares"`
		Endpoints workload.Endpoints `json:"endpoints"`
		*workload.Result
	}{seed, cfg.Inquiries, cfg.Rate, cfg.Languages, cfg.Shares, cfg.Endpoints, res}
	return writeLoadRecord(runDir, fmt.Sprintf("%s-seed%d.json", res.Start.UTC().Format("20060102-150405"), seed), body)
}

// writeLoadRecord writes body as JSON to runDir/load/name and returns the
// file's path.
func writeLoadRecord(runDir, name string, body any) (string, error) {
	dir := filepath.Join(runDir, "load")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("save load record: %w", err)
	}
	file := filepath.Join(dir, name)
	b, err := json.MarshalIndent(body, "", " ")
	if err != nil {
		return "", fmt.Errorf("save load record: %w", err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return "", fmt.Errorf("save load record: %w", err)
	}
	return file, nil
}
