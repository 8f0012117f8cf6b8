package sla

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(map[string]string{SettingScale: "0.1", SettingBreachDelay: "0s", SettingBreachInterval: "10s",
		SettingCommunicationURL: "http://127.0.0.1:9/", SettingMaxWait: "250ms"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Scale != 0.1 || s.Timing.BreachDelay != 0 || s.Timing.BreachInterval != 10*time.Second ||
		s.CommunicationURL != "http://127.0.0.1:9" || s.MaxWait != 250*time.Millisecond {
		t.Fatalf("parsed %+v", s)
	}
	def, err := ParseSettings(nil, "")
	if err != nil || def.Scale != 1 || def.Timing != DefaultConfig() || def.CommunicationURL != "http://127.0.0.1:5148" {
		t.Fatalf("defaults %+v %v", def, err)
	}
	for _, bad := range []map[string]string{
		{SettingScale: "0"}, {SettingScale: "-1"}, {SettingScale: "x"}, {SettingScale: "NaN"},
		{SettingBreachInterval: "0s"}, {SettingBreachDelay: "-1s"}, {SettingMaxWait: "soon"},
	} {
		if _, err := ParseSettings(bad, ""); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestCommunicationURLFromLabJSON(t *testing.T) {
	dir := t.TempDir()
	lab := `{"services":{"communication-2":{"service":"communication","instance":2,"http":"http://127.0.0.1:2002"},
		"communication":{"service":"communication","instance":1,"http":"http://127.0.0.1:2001/"},
		"sla":{"service":"sla","instance":1,"http":"http://127.0.0.1:3001"}}}`
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), []byte(lab), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ParseSettings(nil, dir)
	if err != nil || s.CommunicationURL != "http://127.0.0.1:2001" {
		t.Fatalf("from lab.json: %q %v", s.CommunicationURL, err)
	}
	if s, _ := ParseSettings(nil, t.TempDir()); !strings.HasSuffix(s.CommunicationURL, ":5148") {
		t.Fatalf("without lab.json: %q", s.CommunicationURL)
	}
}

func TestScaledCatalog(t *testing.T) {
	c := ScaledCatalog(0.1)
	if d, tier, ok := c.Duration("a@devmentors.io", contracts.ServiceIncidentTicket, contracts.SeverityCritical); !ok || d != 6*time.Second || tier != TierVIP {
		t.Fatalf("VIP critical scaled: %v %s %v", d, tier, ok)
	}
	if d, tier, ok := c.Duration("a@example.com", contracts.ServiceQuestionTicket, contracts.SeverityCritical); !ok || d != 6*time.Minute || tier != TierStandard {
		t.Fatalf("default critical scaled: %v %s %v", d, tier, ok)
	}
	// The seeded catalog itself is unchanged.
	if d, _, _ := NewCatalog().Duration("a@devmentors.io", contracts.ServiceIncidentTicket, contracts.SeverityCritical); d != time.Minute {
		t.Fatalf("seed changed: %v", d)
	}
	if d, _, _ := ScaledCatalog(1e-12).Duration("a@devmentors.io", contracts.ServiceIncidentTicket, contracts.SeverityCritical); d != time.Millisecond {
		t.Fatalf("tiny scale: %v, want the 1 ms floor", d)
	}
}
