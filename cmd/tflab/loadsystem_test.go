package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
)

// The generic load builds the system's workload block from a file and
// --set pairs (a --set wins), and the system's decoder judges it.
func TestSystemLoadBuildsTheWorkloadBlock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(file, []byte("workload:\n  inquiries: 9\n  rate: 2\n  settle: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := systemLoad{file: file, sets: []string{"inquiries=3", "languages={en: 1, pl: 2}"}}
	n, err := l.workloadBlock()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := workload.Type().Decode(n)
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.(*workload.Spec)
	if w.Inquiries != 3 || w.Rate != 2 || w.Languages["pl"] != 2 {
		t.Fatalf("decoded %+v", w)
	}
	n, err = systemLoad{sets: []string{"inquiries=3", "burst=4"}}.workloadBlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workload.Type().Decode(n); err == nil || !strings.Contains(err.Error(), `unknown field "burst"`) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := (systemLoad{sets: []string{"no-equals"}}).workloadBlock(); err == nil {
		t.Fatal("a --set without = was taken")
	}
}
