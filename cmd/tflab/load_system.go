package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// systemLoadFlags are load's flags for a system driven by its own
// workload block.
type systemLoadFlags struct {
	name  string
	file  string
	sets  []string
	limit time.Duration
}

func (s *systemLoadFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.name, "system", "", "the system to load (default: the running lab's; known: "+systemNames()+")")
	f.StringVar(&s.file, "workload", "", "a YAML file holding the system's workload block (not Ticketflow's)")
	f.StringArrayVar(&s.sets, "set", nil, "a key of the system's workload block, key=value (repeatable; value read as YAML)")
	f.DurationVar(&s.limit, "limit", 0, "bound on a system's load (default: its span + 10m)")
}

// ticketflowFlags are the flags only Ticketflow's load reads.
var ticketflowFlags = []string{"inquiries", "rate", "languages", "qualify-share", "assign-share", "block-share",
	"resolve-share", "vip-share", "incident-share", "settle", "ticket-timeout", "think", "max-in-flight", "timeout"}

// ticketflowOnly refuses Ticketflow's flags for another system.
func ticketflowOnly(f *pflag.FlagSet, system string) error {
	for _, name := range ticketflowFlags {
		if f.Changed(name) {
			return usageErrorf("--%s is Ticketflow's; system %s takes its workload keys with --set key=value or --workload FILE", name, system)
		}
	}
	return nil
}

// systemLoadReport is what load prints with --json and saves.
type systemLoadReport struct {
	System  string           `json:"system"`
	Seed    int64            `json:"seed"`
	RunDir  string           `json:"runDir"`
	File    string           `json:"file,omitempty"`
	Summary []kindTally      `json:"summary"`
	Records []history.Record `json:"records,omitempty"`
	Block   map[string]any   `json:"workload,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// kindTally counts one kind of request.
type kindTally struct {
	Kind     string `json:"kind"`
	Accepted int    `json:"accepted"`
	Refused  int    `json:"refused"` // a non-2xx answer or none
}

func tally(recs []history.Record) []kindTally {
	var out []kindTally
	at := map[string]int{}
	for _, r := range recs {
		i, ok := at[r.Kind]
		if !ok {
			i = len(out)
			at[r.Kind] = i
			out = append(out, kindTally{Kind: r.Kind})
		}
		if r.Accepted {
			out[i].Accepted++
		} else {
			out[i].Refused++
		}
	}
	return out
}

// labEndpoints lists every service instance's base URL, in instance order.
func labEndpoints(in lab.Info) sut.Endpoints {
	eps := sut.Endpoints{}
	for _, id := range in.IDs() {
		if s := in.Services[id]; s.HTTP != "" {
			eps[s.Service] = append(eps[s.Service], s.HTTP)
		}
	}
	return eps
}

// runSystemLoad drives the running lab's system with its own workload
// block: decoded like a scenario's, run by the system's driver with a
// seeded source, a progress line on stderr, a summary of the requests by
// kind on stdout and the records saved under <run-dir>/load.
func runSystemLoad(ctx context.Context, st *state, fl systemLoadFlags, seed *int64, asJSON bool, dir string, in lab.Info) error {
	sys, err := lookupSystem("the lab's system", in.System)
	if err != nil {
		return withCode(ExitEnvironment, err)
	}
	if sys.Workload == nil || sys.Vocabulary.Workload == nil {
		return usageErrorf("system %s has no workload to load", sys.Name)
	}
	block, err := workloadBlock(fl.file, fl.sets)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	cfg, err := sys.Vocabulary.Workload.Decode(block)
	if err != nil {
		return usageErrorf("workload of %s: %v", sys.Name, err)
	}
	s := time.Now().UnixNano()
	if seed != nil {
		s = *seed
	}
	limit := fl.limit
	if limit <= 0 {
		limit = cfg.Span() + 10*time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	progress, done := statusPrinter(st.stderr)
	env := sut.LoadEnv{Endpoints: labEndpoints(in), Rand: rand.New(rand.NewPCG(uint64(s), 0x6c6f6164)), // "load"
		Progress: progress, Log: st.logger().With("component", "load")}
	fmt.Fprintf(st.stderr, "load: %s against %s (seed %d)\n", sys.Name, shortPath(dir), s)
	recs, runErr := sys.Workload(ctx, cfg, env)
	done()
	rep := systemLoadReport{System: sys.Name, Seed: s, RunDir: dir, Summary: tally(recs), Records: recs}
	_ = block.Decode(&rep.Block)
	if runErr != nil {
		rep.Error = runErr.Error()
	}
	file, err := saveSystemLoad(dir, time.Now(), rep)
	if err != nil {
		runErr = errors.Join(runErr, err)
	}
	rep.File = file
	if asJSON {
		rep.Records = nil
		enc := json.NewEncoder(st.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		if err := writeTally(st.stdout, rep.Summary); err != nil {
			return err
		}
		if file != "" {
			fmt.Fprintf(st.stdout, "record: %s\n", shortPath(file))
		}
	}
	if runErr != nil {
		return runErr
	}
	if !slices.ContainsFunc(recs, func(r history.Record) bool { return r.Accepted }) {
		return errors.New("the system accepted no request")
	}
	return nil
}

func writeTally(w io.Writer, ts []kindTally) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tACCEPTED\tREFUSED")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Kind, t.Accepted, t.Refused)
	}
	return tw.Flush()
}

// saveSystemLoad writes the run's record next to the lab's other files.
func saveSystemLoad(runDir string, now time.Time, rep systemLoadReport) (string, error) {
	return writeLoadRecord(runDir, fmt.Sprintf("%s-%s-seed%d.json", now.UTC().Format("20060102-150405"), rep.System, rep.Seed), rep)
}

// statusPrinter shows a driver's status: one rewritten line on a
// terminal, else a line when it changed and 5 s passed; done ends it with
// the last status.
func statusPrinter(w io.Writer) (progress func(string), done func()) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var last, printed string
	var at time.Time
	progress = func(status string) {
		last = status
		switch {
		case tty:
			fmt.Fprintf(w, "\r\033[Kload: %s", status)
		case status != printed && time.Since(at) >= 5*time.Second:
			at, printed = time.Now(), status
			fmt.Fprintln(w, "load: "+status)
		}
	}
	done = func() {
		switch {
		case tty:
			fmt.Fprintln(w)
		case last != "" && last != printed:
			fmt.Fprintln(w, "load: "+strings.TrimSpace(last))
		}
		fmt.Fprintln(w, "load: done")
	}
	return progress, done
}
