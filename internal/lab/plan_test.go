package lab

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
)

func TestPlanGivesServicesTheirFixedPortsAndPeers(t *testing.T) {
	cfg := Config{System: "ticketflow", Ports: PortsFixed, Services: []ServiceSpec{
		{Name: "translations", HTTPPort: 45274},
		{Name: "tickets", Instances: 2, HTTPPort: 45112, Settings: map[string]string{PeerSetting("translations"): "http://elsewhere"}},
		{Name: "generic"},
	}}
	plan, err := planInstances(cfg, Layout{Dir: t.TempDir()})
	if err != nil {
		t.Skipf("fixed test ports busy on this machine: %v", err)
	}
	ports := map[string]int{}
	for _, in := range plan {
		ports[in.cfg.ID()] = in.httpPort
	}
	if ports["translations"] != 45274 || ports["tickets"] != 45112 || ports["tickets-2"] != 45113 || ports["generic"] != FixedPorts.ServiceHTTP+3 {
		t.Fatalf("ports %v", ports)
	}
	for _, in := range plan {
		if got := in.cfg.Settings[PeerSetting("tickets")]; got != "http://127.0.0.1:45112" {
			t.Errorf("%s: tickets peer %q", in.cfg.ID(), got)
		}
		want := "http://127.0.0.1:45274"
		if in.cfg.Name == "tickets" {
			want = "http://elsewhere" // the spec's own value wins
		}
		if got := in.cfg.Settings[PeerSetting("translations")]; got != want {
			t.Errorf("%s: translations peer %q, want %q", in.cfg.ID(), got, want)
		}
	}
}

func TestNeedsGetTheNamedServicesURL(t *testing.T) {
	cfg := Config{System: "ticketsale", Ports: PortsRandom, Services: []ServiceSpec{
		{Name: "payments", Instances: 2, Needs: map[string]string{"gateway-url": "gateway"}},
		{Name: "gateway", Instances: 2},
		{Name: "orders", Needs: map[string]string{"gateway-url": "gateway"}, Settings: map[string]string{"gateway-url": "http://elsewhere"}},
	}}
	plan, err := planInstances(cfg, Layout{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	release, err := reserveHTTPPorts(plan)
	if err != nil {
		t.Fatal(err)
	}
	release()
	urls := map[string]string{}
	for _, in := range plan {
		urls[in.cfg.ID()] = "http://127.0.0.1:" + strconv.Itoa(in.httpPort)
	}
	for _, in := range plan {
		got, set := in.cfg.Settings["gateway-url"]
		switch in.cfg.Name {
		case "payments":
			if got != urls["gateway"] {
				t.Errorf("%s: gateway-url %q, want instance 1's %q", in.cfg.ID(), got, urls["gateway"])
			}
		case "orders":
			if got != "http://elsewhere" {
				t.Errorf("orders: gateway-url %q, want the spec's own value", got)
			}
		default:
			if set {
				t.Errorf("%s needs nothing but got gateway-url %q", in.cfg.ID(), got)
			}
		}
	}
}

func TestRandomHTTPPortsAreHeldUntilReleased(t *testing.T) {
	cfg := Config{System: "ticketflow", Ports: PortsRandom, Services: []ServiceSpec{{Name: "inquiries"}, {Name: "tickets", Instances: 2}}}
	plan, err := planInstances(cfg, Layout{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	release, err := reserveHTTPPorts(plan)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, in := range plan {
		if in.httpPort == 0 || seen[in.httpPort] {
			t.Fatalf("port %d given twice or not at all", in.httpPort)
		}
		seen[in.httpPort] = true
		if CheckPortsFree(in.httpPort) == nil {
			t.Errorf("port %d is not held before the release", in.httpPort)
		}
		if got, want := in.cfg.Settings[PeerSetting("tickets")], "http://127.0.0.1:"+strconv.Itoa(plan[1].httpPort); got != want {
			t.Errorf("%s: tickets peer %q, want %q", in.cfg.ID(), got, want)
		}
	}
	release()
	for p := range seen {
		if err := CheckPortsFree(p); err != nil {
			t.Errorf("after release: %v", err)
		}
	}
}

// TestInstancesOfAServiceShareItsDatabase: sla and sla-2 open one database
// file (the standby must see the active instance's state), other services
// have their own; log and span files stay per instance.
func TestInstancesOfAServiceShareItsDatabase(t *testing.T) {
	layout := Layout{Dir: t.TempDir()}
	cfg := Config{System: "ticketflow", Ports: PortsRandom, Services: []ServiceSpec{{Name: "tickets"}, {Name: "sla", Instances: 2}}}
	plan, err := planInstances(cfg, layout)
	if err != nil {
		t.Fatal(err)
	}
	db, spans, logs := map[string]string{}, map[string]bool{}, map[string]bool{}
	for _, in := range plan {
		db[in.cfg.ID()] = in.cfg.DBPath
		spans[in.cfg.SpanFile], logs[in.cfg.LogFile] = true, true
	}
	if db["sla"] != layout.DBFile("sla") || db["sla-2"] != db["sla"] {
		t.Fatalf("sla %q, sla-2 %q: want both %q", db["sla"], db["sla-2"], layout.DBFile("sla"))
	}
	if db["tickets"] == db["sla"] || db["tickets"] != layout.DBFile("tickets") {
		t.Fatalf("tickets database %q", db["tickets"])
	}
	if len(spans) != 3 || len(logs) != 3 {
		t.Fatalf("span files %v, logs %v: want one each per instance", spans, logs)
	}
}

func TestRelativeRunRootGivesAbsoluteChildPaths(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	dir, err := NewRunDir("runs", "suite-broker", time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "runs", "20261204-120000-suite-broker"); dir != want {
		t.Fatalf("NewRunDir(runs) = %q, want %q", dir, want)
	}
	layout, err := newLayout(filepath.Join("runs", "lab"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "runs", "lab"); layout.Dir != want {
		t.Fatalf("layout dir %q, want %q", layout.Dir, want)
	}
	cfg := Config{System: "ticketflow", Ports: PortsRandom, Services: []ServiceSpec{{Name: "inquiries"}, {Name: "tickets", Instances: 2}}}
	plan, err := planInstances(cfg, layout)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range plan {
		for what, p := range map[string]string{"db": in.cfg.DBPath, "spans": in.cfg.SpanFile, "log": in.cfg.LogFile, "run dir": in.cfg.RunDir} {
			if !filepath.IsAbs(p) || !strings.HasPrefix(p, wd) {
				t.Errorf("%s: %s path %q: want absolute under %s", in.cfg.ID(), what, p, wd)
			}
		}
		if err := absolutePaths(in.cfg); err != nil {
			t.Errorf("%s: %v", in.cfg.ID(), err)
		}
	}
	if b := layout.Broker(); !filepath.IsAbs(b) {
		t.Errorf("broker dir %q is relative", b)
	}
}

func TestAbsolutePathsNamesEveryRelativeChildPath(t *testing.T) {
	c := service.Config{DBPath: "runs/x/db/a.sqlite", SpanFile: "/abs/traces/a.jsonl", LogFile: "runs/x/logs/a.log", RunDir: "runs/x"}
	err := absolutePaths(c)
	if err == nil {
		t.Fatal("relative paths accepted")
	}
	for _, want := range []string{"db path", "log file", "run dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "span file") {
		t.Errorf("error %q names the absolute span file", err)
	}
}
