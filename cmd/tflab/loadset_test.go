package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestWorkloadBlock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(file, []byte("tickets: 5\npayShare: 0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := workloadBlock(file, []string{"payShare=0.5", "prices=[5, 10, 15]", "think = 200ms"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tickets  int       `yaml:"tickets"`
		PayShare float64   `yaml:"payShare"`
		Prices   []float64 `yaml:"prices"`
		Think    string    `yaml:"think"`
	}
	if err := n.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Tickets != 5 || got.PayShare != 0.5 || len(got.Prices) != 3 || got.Prices[2] != 15 || got.Think != "200ms" {
		t.Errorf("block %+v", got)
	}
	if n, err := workloadBlock("", nil); err != nil || n.Kind != yaml.MappingNode || len(n.Content) != 0 {
		t.Errorf("no file, no sets: %+v %v", n, err)
	}
	for _, c := range []struct {
		file string
		sets []string
		want string
	}{
		{"", []string{"tickets"}, "want key=value"},
		{"", []string{"=3"}, "want key=value"},
		{"", []string{"prices=[5,"}, "--set prices"},
		{filepath.Join(t.TempDir(), "absent.yaml"), nil, "--workload"},
	} {
		if _, err := workloadBlock(c.file, c.sets); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: %v, want %q", c.file, c.sets, err, c.want)
		}
	}
	list := filepath.Join(t.TempDir(), "list.yaml")
	if err := os.WriteFile(list, []byte("- 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := workloadBlock(list, nil); err == nil || !strings.Contains(err.Error(), "mapping") {
		t.Errorf("a list file: %v", err)
	}
}
