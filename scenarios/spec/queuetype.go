package spec

import (
	"slices"
	"strings"
)

// QueueTypes are the values of a scenario's queueType: the lab's queue type
// for its runs (internal/broker's QueueTypes). Empty keeps the lab's own
// (tflab's --queue-type, classic by default).
var QueueTypes = []string{"classic", "mirrored", "quorum"}

// PartitionHandlings are the values of a scenario's partitionHandling: the
// cluster_partition_handling of its cluster's nodes (internal/rabbitnode's
// PartitionHandlings). Empty keeps the lab's own (tflab's
// --partition-handling, RabbitMQ's ignore by default).
var PartitionHandlings = []string{"ignore", "pause_minority", "autoheal"}

// validateQueueType reports an unknown queueType at path.
func validateQueueType(v *validator, path, t string) {
	if t != "" && !slices.Contains(QueueTypes, t) {
		v.errorf(path, "unknown queue type %q (valid: %s)", t, strings.Join(QueueTypes, ", "))
	}
}

// validateCluster reports a cluster size or partition handling out of range.
func validateCluster(v *validator, s *Scenario) {
	if s.Nodes < 0 || s.Nodes > 9 {
		v.errorf("nodes", "%d nodes: want 1 to 9", s.Nodes)
	}
	ph := []struct{ path, mode string }{{"partitionHandling", s.PartitionHandling}}
	if s.Control != nil {
		validateQueueType(v, "control.queueType", s.Control.QueueType)
		ph = append(ph, struct{ path, mode string }{"control.partitionHandling", s.Control.PartitionHandling})
	}
	for _, p := range ph {
		if p.mode != "" && !slices.Contains(PartitionHandlings, p.mode) {
			v.errorf(p.path, "unknown partition handling %q (valid: %s)", p.mode, strings.Join(PartitionHandlings, ", "))
		}
	}
}
