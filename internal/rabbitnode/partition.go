package rabbitnode

import (
	"fmt"
	"slices"
)

// Partition handling modes (cluster_partition_handling).
const (
	PartitionIgnore        = "ignore"
	PartitionPauseMinority = "pause_minority"
	PartitionAutoheal      = "autoheal"
)

// PartitionHandlings lists the modes a lab may set.
var PartitionHandlings = []string{PartitionIgnore, PartitionPauseMinority, PartitionAutoheal}

// ValidPartitionHandling reports an unknown mode; "" (RabbitMQ's default,
// ignore) is valid.
func ValidPartitionHandling(mode string) error {
	if mode == "" || slices.Contains(PartitionHandlings, mode) {
		return nil
	}
	return fmt.Errorf("partition handling %q: want one of %v", mode, PartitionHandlings)
}

// partitionHandlingConf is the rabbitmq.conf line for mode ("" for none:
// the node keeps RabbitMQ's default, ignore).
func partitionHandlingConf(mode string) string {
	if mode == "" {
		return ""
	}
	return "cluster_partition_handling = " + mode + "\n"
}
