package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
)

func writeLabJSON(t *testing.T, in lab.Info) string {
	t.Helper()
	dir := t.TempDir()
	in.RunDir = dir
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConsolePrintsTheLabsConsoleURL(t *testing.T) {
	dir := writeLabJSON(t, lab.Info{System: "ticketflow", Console: "http://127.0.0.1:21080"})
	out, errOut, code := runInProcess(t, nil, "console", "--run-dir", dir)
	if code != 0 || strings.TrimSpace(out) != "http://127.0.0.1:21080" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	dir = writeLabJSON(t, lab.Info{System: "ticketflow"})
	_, errOut, code = runInProcess(t, nil, "console", "--run-dir", dir)
	if code == 0 || !strings.Contains(errOut, "serves no console") {
		t.Fatalf("a lab without a console: exit %d, err %q", code, errOut)
	}
}

func TestStatusListsTheConsole(t *testing.T) {
	var b strings.Builder
	printLab(&b, lab.Info{System: "ticketflow", Console: "http://127.0.0.1:21080"})
	if !strings.Contains(b.String(), "console ") || !strings.Contains(b.String(), "http://127.0.0.1:21080") {
		t.Fatalf("status table:\n%s", b.String())
	}
}

// The console's scenario runs use the lab's external broker.
func TestConsoleRunCommandKeepsTheLabsBroker(t *testing.T) {
	if got := strings.Join(consoleRunCommand("tflab", brokerFlags{}), " "); got != "tflab --log-level=warn run" {
		t.Errorf("private broker: %s", got)
	}
	got := strings.Join(consoleRunCommand("tflab", brokerFlags{amqpURL: "amqp://u:p@127.0.0.1:5999/", managementURL: "http://u:p@127.0.0.1:15999"}), " ")
	if got != "tflab --log-level=warn run --amqp-url amqp://u:p@127.0.0.1:5999/ --management-url http://u:p@127.0.0.1:15999" {
		t.Errorf("external broker: %s", got)
	}
	if got := strings.Join(consoleRunCommand("tflab", brokerFlags{amqpURL: "amqp://127.0.0.1:5999/"}), " "); strings.Contains(got, "--management-url") {
		t.Errorf("no management URL: %s", got)
	}
}
