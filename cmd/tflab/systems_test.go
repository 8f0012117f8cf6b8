package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The schema command prints a schema generated from the vocabularies: one
// system's names with --system, and exit 2 listing the known systems for
// an unknown one.
func TestScenariosSchemaPerSystem(t *testing.T) {
	out, stderr, code := runInProcess(t, nil, "scenarios", "schema", "--system", "placeholder")
	if code != ExitPass {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Properties struct {
			System struct {
				Enum []string `json:"enum"`
			} `json:"system"`
		} `json:"properties"`
		Defs map[string]struct {
			Enum []string `json:"enum"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Properties.System.Enum; len(got) != 1 || got[0] != "placeholder" {
		t.Errorf("system enum %v, want [placeholder]", got)
	}
	if got := doc.Defs["service"].Enum; len(got) != 1 || got[0] != "placeholder" {
		t.Errorf("service enum %v, want [placeholder]", got)
	}
	out, _, code = runInProcess(t, nil, "scenarios", "schema")
	if code != ExitPass || !strings.Contains(out, `"ticketflow"`) || !strings.Contains(out, `"placeholder"`) {
		t.Errorf("schema of every system: exit %d", code)
	}
	_, stderr, code = runInProcess(t, nil, "scenarios", "schema", "--system", "nope")
	if code != ExitUsage || !strings.Contains(stderr, "known: placeholder, ticketflow") {
		t.Errorf("unknown system: exit %d, %s", code, stderr)
	}
}
