package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload/fakedesk"
)

// fakeLab writes a lab.json whose control process is this test and whose
// services are the fake desk.
func fakeLab(t *testing.T, services ...string) (string, *fakedesk.Desk) {
	t.Helper()
	desk := fakedesk.Start(t, fakedesk.Options{})
	dir := t.TempDir()
	in := lab.Info{System: "ticketflow", RunDir: dir, Running: true, ControlPID: os.Getpid(), Services: map[string]lab.ServiceInfo{}}
	for _, s := range services {
		in.Services[s] = lab.ServiceInfo{Service: s, Instance: 1, HTTP: desk.URL()}
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lab.Layout{Dir: dir}.LabFile(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, desk
}

func TestLoadDrivesTheLabAndPrintsTheSummary(t *testing.T) {
	dir, desk := fakeLab(t, "inquiries", "tickets", "communication", "sla")
	stdout, stderr, code := runInProcess(t, nil, "load", "--run-dir", dir, "--inquiries", "12", "--rate", "200",
		"--resolve-share", "1", "--seed", "3", "--settle", "5s", "--json")
	if code != ExitPass {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	s := rep.Summary
	if rep.Seed != 3 || s.Accepted != 12 || s.Resolved != 12 || s.Notified != 12 || !s.NotifyChecked || desk.Submits() != 12 {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(stderr, "load: ") || !strings.Contains(stderr, "done") {
		t.Fatalf("no progress on stderr:\n%s", stderr)
	}
	// The record holds the history's submissions and commands.
	files, _ := filepath.Glob(filepath.Join(dir, "load", "*-seed3.json"))
	if len(files) != 1 || rep.File != files[0] {
		t.Fatalf("record files %v, report says %q", files, rep.File)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Seed        int64             `json:"seed"`
		Submissions []json.RawMessage `json:"submissions"`
		Commands    []json.RawMessage `json:"commands"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Seed != 3 || len(rec.Submissions) != 12 || len(rec.Commands) < 12 {
		t.Fatalf("record: %v, %d submissions, %d commands", err, len(rec.Submissions), len(rec.Commands))
	}

	// The table form names the stages.
	stdout, stderr, code = runInProcess(t, nil, "load", "--run-dir", dir, "--inquiries", "3", "--rate", "100", "--seed", "4", "--settle", "2s")
	if code != ExitPass || !strings.Contains(stdout, "customer notified") || !strings.Contains(stdout, "submit → ticket") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestLoadErrors(t *testing.T) {
	placeholder, _ := fakeLab(t, "placeholder")
	full, _ := fakeLab(t, "inquiries", "tickets", "communication")
	for name, tc := range map[string]struct {
		args []string
		code ExitCode
		want string
	}{
		"no lab":               {[]string{"load", "--run-dir", t.TempDir()}, ExitEnvironment, "no lab in"},
		"placeholder lab":      {[]string{"load", "--run-dir", placeholder}, ExitEnvironment, "no inquiries service"},
		"unknown language":     {[]string{"load", "--run-dir", full, "--languages", "en,it"}, ExitUsage, `language "it"`},
		"bad weight":           {[]string{"load", "--run-dir", full, "--languages", "en=x"}, ExitUsage, "positive number"},
		"share out of range":   {[]string{"load", "--run-dir", full, "--resolve-share", "2"}, ExitUsage, "resolve share"},
		"zero inquiries":       {[]string{"load", "--run-dir", full, "--inquiries", "0"}, ExitUsage, "inquiries"},
		"positional argument":  {[]string{"load", "extra"}, ExitUsage, "unknown command"},
		"no languages at all":  {[]string{"load", "--run-dir", full, "--languages", ","}, ExitUsage, "at least one"},
		"language given twice": {[]string{"load", "--run-dir", full, "--languages", "en,EN"}, ExitUsage, "twice"},
	} {
		_, stderr, code := runInProcess(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d (want %d), stderr:\n%s", name, code, tc.code, stderr)
		}
	}
}

func TestParseLanguages(t *testing.T) {
	got, err := parseLanguages(" en, pl=2.5 ,de ")
	if err != nil || !reflect.DeepEqual(got, map[string]float64{"en": 1, "pl": 2.5, "de": 1}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, l := range workload.Languages() {
		if _, err := parseLanguages(l); err != nil {
			t.Fatal(err)
		}
	}
}
