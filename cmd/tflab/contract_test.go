package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios"
	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/report"
	"github.com/ticketflow-lab/tflab/scenarios/run"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
)

// TestEverySystemJudgesOffline runs the offline part of the plug-in
// contract for what a system brings to the verdict: its invariants are
// well formed and judged by Evaluate next to the generic ones, its
// workload driver comes with a decoder (and the reverse), its counts size
// a run without clashing with the lab's, and a run with its snapshot,
// saved and loaded again, is judged to the same verdict as in memory (what
// `tflab verify` relies on).
func TestEverySystemJudgesOffline(t *testing.T) {
	withPlaceholder(t)
	for _, s := range systems.All() {
		t.Run(s.Name, func(t *testing.T) {
			invariantsWellFormed(t, s)
			if (s.Workload == nil) != (s.Vocabulary.Workload == nil) {
				t.Errorf("workload driver %v but workload decoder %v: a system needs both or neither", s.Workload != nil, s.Vocabulary.Workload != nil)
			}
			if wt := s.Vocabulary.Workload; wt != nil {
				if wt.Decode == nil {
					t.Error("workload decoder without Decode")
				}
				for _, k := range wt.Required {
					if _, ok := wt.Properties[k]; !ok {
						t.Errorf("required workload key %q has no schema", k)
					}
				}
			}
			sameVerdictSavedAndLoaded(t, s)
		})
	}
}

func invariantsWellFormed(t *testing.T, s sut.System) {
	t.Helper()
	seen := map[string]bool{}
	for _, inv := range s.Vocabulary.Invariants {
		if inv.ID == "" || inv.Name == "" || inv.Guarantee == "" || inv.Err == nil || inv.Check == nil {
			t.Errorf("invariant %+v: want an id, name, guarantee, sentinel and check", inv.ID)
		}
		if seen[inv.ID] || seen[inv.Name] {
			t.Errorf("invariant %s %s named twice", inv.ID, inv.Name)
		}
		seen[inv.ID], seen[inv.Name] = true, true
		for _, g := range check.Generic {
			if g.ID == inv.ID && g.Name != inv.Name {
				t.Errorf("invariant %s reuses the generic %s's id under another name (%s)", inv.Name, g.Name, inv.ID)
			}
		}
	}
	doc, err := scenarios.SchemaFor(s.Vocabulary)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range check.IDs(s.Vocabulary.Invariants) {
		if !strings.Contains(string(doc), fmt.Sprintf("%q", id)) {
			t.Errorf("the schema does not name invariant %s", id)
		}
	}
}

// sameVerdictSavedAndLoaded judges a run with nothing but the system's
// snapshot of absent databases, in memory and from disk.
func sameVerdictSavedAndLoaded(t *testing.T, s sut.System) {
	t.Helper()
	start := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	h := &history.History{Meta: history.Meta{SchemaVersion: history.SchemaVersion, Scenario: "contract", System: s.Name,
		Start: start, End: start.Add(time.Minute),
		Evidence: []history.Requirement{{Counter: "deliveries", Op: ">=", Value: 0}}}}
	h.Snapshot.At = h.Meta.End
	if s.Snapshot != nil {
		dir := t.TempDir()
		var dbs []sut.DB
		for _, svc := range s.Services {
			dbs = append(dbs, sut.DB{Service: svc.Name, Instance: svc.Name + "-1", Path: filepath.Join(dir, svc.Name+".db")})
		}
		snap, err := s.Snapshot(context.Background(), dbs)
		if err != nil {
			t.Fatalf("snapshot of absent databases: %v", err)
		}
		if snap != nil {
			h.Snapshot.System = history.NewSystemSnapshot(snap)
		}
	}
	want := check.Evaluate(h, s.Vocabulary.Invariants...)
	if len(want.Results) != len(check.All(s.Vocabulary.Invariants)) {
		t.Errorf("%d results, want one per invariant", len(want.Results))
	}
	var counts []history.Count
	if s.Counts != nil {
		counts = s.Counts(h)
	}
	names := map[string]bool{}
	for _, c := range report.NewCounts(h, counts) {
		if names[c.Name] {
			t.Errorf("count %s twice (the lab counts %s itself)", c.Name, c.Name)
		}
		names[c.Name] = true
	}
	for _, c := range counts {
		if !slices.Contains([]string{history.CountWorkload, history.CountSnapshot}, c.Of) {
			t.Errorf("count %s sizes %q, want workload or snapshot", c.Name, c.Of)
		}
	}
	dir := t.TempDir()
	if err := run.WriteRunFiles(dir, h, want, counts...); err != nil {
		t.Fatal(err)
	}
	got, err := run.Verify(dir, run.VerifyOptions{Systems: systems})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := fmt.Sprintf("%+v", got.Verdict.Results), fmt.Sprintf("%+v", want.Results); got.Verdict.Outcome != want.Outcome ||
		got.Verdict.Reason != want.Reason || g != w {
		t.Errorf("verify from disk: %s %q\n%s\nin memory: %s %q\n%s", got.Verdict.Outcome, got.Verdict.Reason, g, want.Outcome, want.Reason, w)
	}
	if fmt.Sprint(got.Counts) != fmt.Sprint(counts) {
		t.Errorf("counts from disk %v, in memory %v", got.Counts, counts)
	}
}
