// Package checktest holds test helpers for checkers: it judges a history
// read back from disk the three ways the lab reads it (encoding/json line by
// line, history.Load and history.LoadTable) and compares the verdicts, for
// the lab's own checkers and for a system's invariants alike.
package checktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// LoadReference loads a saved history as Load did before the event table:
// the run file and every events line through encoding/json.
func LoadReference(t testing.TB, dir string) *history.History {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, history.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	var h history.History
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, history.EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e history.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return &h
}

// SameVerdictFromDisk saves h, judges it (with the system's invariants)
// loaded the reference way, with Load and with LoadTable, and fails unless
// all three verdicts equal want and the table holds the reference's events.
func SameVerdictFromDisk(t testing.TB, h *history.History, want check.Verdict, system ...check.Invariant) {
	t.Helper()
	dir := t.TempDir()
	if err := history.Save(dir, h); err != nil {
		t.Fatal(err)
	}
	SameVerdictsOf(t, dir, want, system...)
}

// SameVerdictsOf is SameVerdictFromDisk for a history already saved in dir.
func SameVerdictsOf(t testing.TB, dir string, want check.Verdict, system ...check.Invariant) {
	t.Helper()
	ref := LoadReference(t, dir)
	loaded, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	table, err := history.LoadTable(dir)
	if err != nil {
		t.Fatal(err)
	}
	if table.Table.Len() != len(ref.Events) || len(table.Events) != 0 {
		t.Fatalf("table holds %d events (and %d in Events), the file %d", table.Table.Len(), len(table.Events), len(ref.Events))
	}
	if got := table.Table.Events(); !reflect.DeepEqual(got, ref.Events) {
		for i := range got {
			if !reflect.DeepEqual(got[i], ref.Events[i]) {
				t.Fatalf("event %d from the table:\n%+v\nfrom encoding/json:\n%+v", i, got[i], ref.Events[i])
			}
		}
	}
	for name, h := range map[string]*history.History{"reference": ref, "Load": loaded, "LoadTable": table} {
		if got, want := VerdictText(check.Evaluate(h, system...)), VerdictText(want); got != want {
			t.Errorf("verdict of the history read by %s differs:\n got  %s\n want %s", name, got, want)
		}
	}
}

// VerdictText prints every field of a verdict (reflect.DeepEqual cannot
// compare it: an Invariant holds its checker function).
func VerdictText(v check.Verdict) string { return fmt.Sprintf("%+v", v) }
