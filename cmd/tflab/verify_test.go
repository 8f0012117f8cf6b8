package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The memory limit of tflab verify is sized by the files Verify reads.
func TestVerifyInputBytesCountsTheFilesVerifyReads(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("traces/a.jsonl", 1000)
	write("traces/b.jsonl", 2000)
	if got := verifyInputBytes(dir, false); got != 3000 {
		t.Errorf("span files only: %d bytes, want 3000", got)
	}
	write("history.json", 10)
	write("events.jsonl", 200)
	if got := verifyInputBytes(dir, false); got != 210 {
		t.Errorf("history and events: %d bytes, want 210", got)
	}
	if got := verifyInputBytes(dir, true); got != 3010 {
		t.Errorf("--from-spans: %d bytes, want 3010", got)
	}
}
