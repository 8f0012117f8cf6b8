package rabbitnode

import (
	"strings"
	"testing"
)

func TestPartitionHandlingIsValidatedAndWrittenToTheConfig(t *testing.T) {
	base := Config{Name: "n", Dir: t.TempDir()}
	for _, mode := range append([]string{""}, PartitionHandlings...) {
		c := base
		c.PartitionHandling = mode
		if err := c.Validate(); err != nil {
			t.Errorf("%q rejected: %v", mode, err)
		}
	}
	c := base
	c.PartitionHandling = "pause-minority"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "partition handling") {
		t.Errorf("unknown mode: err = %v", err)
	}
	if got := partitionHandlingConf(PartitionAutoheal); got != "cluster_partition_handling = autoheal\n" {
		t.Errorf("conf line %q", got)
	}
	if got := partitionHandlingConf(""); got != "" {
		t.Errorf("default writes %q, want nothing", got)
	}
}

func TestPeersAreWrittenForClassicConfigDiscovery(t *testing.T) {
	want := "cluster_formation.peer_discovery_backend = classic_config\n" +
		"cluster_formation.classic_config.nodes.1 = c-1@c-n1\n"
	if got := peersConf([]string{"c-1@c-n1"}); got != want {
		t.Errorf("conf %q, want %q", got, want)
	}
	if got := peersConf(nil); got != "" {
		t.Errorf("no peers writes %q", got)
	}
}
