package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload/fakeshop"
)

// shopLab writes a lab.json of a running ticketsale whose services are
// the fake shop.
func shopLab(t *testing.T) (string, *fakeshop.Shop) {
	t.Helper()
	shop := fakeshop.Start(t, 1)
	dir := t.TempDir()
	in := lab.Info{System: "ticketsale", RunDir: dir, Running: true, ControlPID: os.Getpid(), Services: map[string]lab.ServiceInfo{}}
	for _, s := range []string{"auth", "tickets", "orders", "payments", "expiration", "gateway"} {
		in.Services[s] = lab.ServiceInfo{Service: s, Instance: 1, HTTP: shop.URL}
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lab.Layout{Dir: dir}.LabFile(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, shop
}

func TestLoadTicketsale(t *testing.T) {
	dir, shop := shopLab(t)
	file := filepath.Join(t.TempDir(), "crowd.yaml")
	if err := os.WriteFile(file, []byte("tickets: 3\nusers: 3\nrate: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runInProcess(t, nil, "load", "--run-dir", dir, "--system", "ticketsale", "--workload", file,
		"--set", "tickets=8", "--set", "racers=2", "--set", "payShare=1", "--set", "cancelShare=0", "--seed", "5", "--json")
	if code != ExitPass {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rep systemLoadReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[string]kindTally{}
	for _, k := range rep.Summary {
		got[k.Kind] = k
	}
	// --set wins over the file: 8 tickets, each raced by two buyers, one
	// order each, every order paid.
	if rep.System != "ticketsale" || rep.Seed != 5 || got["ticket.create"].Accepted != 8 ||
		got["order.place"].Accepted != 8 || got["order.place"].Refused != 8 || got["payment"].Accepted != 8 || shop.Payments() != 8 {
		t.Fatalf("report %+v (shop payments %d)", rep, shop.Payments())
	}
	if !strings.Contains(stderr, "load: ticketsale against") || !strings.Contains(stderr, "load: done") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(rep.File)
	if err != nil || filepath.Dir(rep.File) != filepath.Join(dir, "load") {
		t.Fatalf("record %q: %v", rep.File, err)
	}
	var saved systemLoadReport
	if err := json.Unmarshal(b, &saved); err != nil || len(saved.Records) == 0 || saved.Block["tickets"] != float64(8) {
		t.Errorf("saved record: %v, %d records, block %v", err, len(saved.Records), saved.Block)
	}

	// The table form.
	stdout, stderr, code = runInProcess(t, nil, "load", "--run-dir", dir, "--set", "tickets=2", "--set", "rate=100", "--set", "users=2")
	if code != ExitPass || !strings.Contains(stdout, "REQUEST") || !strings.Contains(stdout, "ticket.create") || !strings.Contains(stdout, "record: ") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestLoadSystemErrors(t *testing.T) {
	shop, _ := shopLab(t)
	flow, _ := fakeLab(t, "inquiries", "tickets", "communication")
	for name, tc := range map[string]struct {
		args []string
		code ExitCode
		want string
	}{
		"unknown system":          {[]string{"load", "--run-dir", shop, "--system", "nope"}, ExitUsage, "known: "},
		"another system's lab":    {[]string{"load", "--run-dir", shop, "--system", "ticketflow"}, ExitUsage, "runs ticketsale"},
		"ticketflow flag":         {[]string{"load", "--run-dir", shop, "--inquiries", "5"}, ExitUsage, "--inquiries is Ticketflow's"},
		"share out of range":      {[]string{"load", "--run-dir", shop, "--set", "payShare=2"}, ExitUsage, "workload.payShare"},
		"unknown key":             {[]string{"load", "--run-dir", shop, "--set", "inquiries=3"}, ExitUsage, "workload.inquiries: unknown field"},
		"set without value":       {[]string{"load", "--run-dir", shop, "--set", "tickets"}, ExitUsage, "key=value"},
		"missing workload file":   {[]string{"load", "--run-dir", shop, "--workload", filepath.Join(t.TempDir(), "x.yaml")}, ExitUsage, "--workload"},
		"set for ticketflow":      {[]string{"load", "--run-dir", flow, "--set", "inquiries=3"}, ExitUsage, "its own flags"},
		"workload for ticketflow": {[]string{"load", "--run-dir", flow, "--workload", "x.yaml"}, ExitUsage, "its own flags"},
	} {
		_, stderr, code := runInProcess(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d (want %d), stderr:\n%s", name, code, tc.code, stderr)
		}
	}
}
