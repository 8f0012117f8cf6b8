package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// systemLoad is `tflab load` through the running lab's system: its
// workload block from --workload FILE and --set key=value, decoded by the
// system, run by the system's workload driver.
type systemLoad struct {
	sets   []string
	file   string
	seed   int64
	settle time.Duration
	asJSON bool
}

// workloadBlock builds the YAML block: the file's, then each --set.
func (l systemLoad) workloadBlock() (*yaml.Node, error) {
	block := map[string]any{}
	if l.file != "" {
		b, err := os.ReadFile(l.file)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(b, &block); err != nil {
			return nil, fmt.Errorf("--workload %s: %w", l.file, err)
		}
		if w, ok := block["workload"].(map[string]any); ok && len(block) == 1 {
			block = w // a scenario-shaped file
		}
	}
	for _, s := range l.sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--set %q: want key=value", s)
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("--set %q: %w", s, err)
		}
		block[strings.TrimSpace(k)] = val
	}
	delete(block, spec.SettleKey)
	var n yaml.Node
	if err := n.Encode(block); err != nil {
		return nil, err
	}
	return &n, nil
}

// run drives the lab in dir (info in) with sys's workload.
func (l systemLoad) run(ctx context.Context, st *state, sys sut.System, dir string, in lab.Info) error {
	if sys.Workload == nil || sys.Vocabulary.Workload == nil {
		return withCode(ExitUsage, fmt.Errorf("system %s has no workload to drive", sys.Name))
	}
	n, err := l.workloadBlock()
	if err != nil {
		return withCode(ExitUsage, err)
	}
	cfg, err := sys.Vocabulary.Workload.Decode(n)
	if err != nil {
		return withCode(ExitUsage, fmt.Errorf("workload of %s: %w", sys.Name, err))
	}
	eps := sut.Endpoints{}
	for _, id := range in.IDs() {
		if s := in.Services[id]; s.HTTP != "" {
			eps[s.Service] = append(eps[s.Service], s.HTTP)
		}
	}
	env := sut.LoadEnv{Endpoints: eps, Rand: rand.New(rand.NewPCG(uint64(l.seed), 0x6c6f6164)), Settle: l.settle, // "load"
		Log: st.logger().With("component", "load"), Progress: statusPrinter(st.stderr)}
	fmt.Fprintf(st.stderr, "load: %s workload against %s (seed %d)\n", sys.Name, shortPath(dir), l.seed)
	start := time.Now()
	recs, runErr := sys.Workload(ctx, cfg, env)
	file, err := saveRecords(dir, l.seed, start, recs)
	if err != nil {
		runErr = errors.Join(runErr, err)
	}
	sum := summarizeRecords(recs)
	if l.asJSON {
		enc := json.NewEncoder(st.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			System  string        `json:"system"`
			Seed    int64         `json:"seed"`
			RunDir  string        `json:"runDir"`
			File    string        `json:"file,omitempty"`
			Summary []recordCount `json:"summary"`
		}{sys.Name, l.seed, dir, file, sum}); err != nil {
			return err
		}
	} else {
		writeRecordSummary(st.stdout, sum)
		if file != "" {
			fmt.Fprintf(st.stdout, "record: %s\n", shortPath(file))
		}
	}
	if runErr != nil {
		return runErr
	}
	for _, c := range sum {
		if c.Accepted > 0 {
			return nil
		}
	}
	return errors.New("no request was accepted")
}

// recordCount counts the records of one kind.
type recordCount struct {
	Kind     string `json:"kind"`
	Sent     int    `json:"sent"`
	Accepted int    `json:"accepted"`
}

func summarizeRecords(recs []history.Record) []recordCount {
	by := map[string]*recordCount{}
	for _, r := range recs {
		c, ok := by[r.Kind]
		if !ok {
			c = &recordCount{Kind: r.Kind}
			by[r.Kind] = c
		}
		c.Sent++
		if r.Accepted {
			c.Accepted++
		}
	}
	out := make([]recordCount, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

func writeRecordSummary(w io.Writer, sum []recordCount) {
	fmt.Fprintf(w, "%-16s %8s %8s\n", "KIND", "SENT", "ACCEPTED")
	for _, c := range sum {
		fmt.Fprintf(w, "%-16s %8d %8d\n", c.Kind, c.Sent, c.Accepted)
	}
}

// statusPrinter prints the driver's status when it changes, at most every
// 5 s.
func statusPrinter(w io.Writer) func(string) {
	var last string
	var at time.Time
	return func(s string) {
		if s == "" || s == last || time.Since(at) < 5*time.Second {
			return
		}
		last, at = s, time.Now()
		fmt.Fprintf(w, "load: %s\n", s)
	}
}

// saveRecords writes the records to <runDir>/load/<time>-seed<N>.json.
func saveRecords(runDir string, seed int64, start time.Time, recs []history.Record) (string, error) {
	dir := filepath.Join(runDir, "load")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("save load record: %w", err)
	}
	file := filepath.Join(dir, fmt.Sprintf("%s-seed%d.json", start.UTC().Format("20060102-150405"), seed))
	b, err := json.MarshalIndent(struct {
		Seed    int64            `json:"seed"`
		Records []history.Record `json:"records"`
	}{seed, recs}, "", " ")
	if err != nil {
		return "", fmt.Errorf("save load record: %w", err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return "", fmt.Errorf("save load record: %w", err)
	}
	return file, nil
}
