package spec

import (
	"slices"
	"strings"
)

// QueueTypes are the values of a scenario's queueType: the lab's queue type
// for its runs (internal/broker's QueueTypes). Empty keeps the lab's own
// (tflab's --queue-type, classic by default).
var QueueTypes = []string{"classic", "mirrored", "quorum"}

// validateQueueType reports an unknown queueType.
func validateQueueType(v *validator, t string) {
	if t != "" && !slices.Contains(QueueTypes, t) {
		v.errorf("queueType", "unknown queue type %q (valid: %s)", t, strings.Join(QueueTypes, ", "))
	}
}
