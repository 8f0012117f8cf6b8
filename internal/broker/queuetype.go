package broker

import (
	"context"
	"fmt"
	"slices"

	"github.com/ticketflow-lab/tflab/internal/rabbitnode"
)

// Queue types a lab runs with.
const (
	// QueueClassic: classic queues, each on the node its first declarer used
	// (the default; on one node the only sensible choice).
	QueueClassic = "classic"
	// QueueMirrored: classic queues mirrored to every node by the policy
	// MirrorPolicy sets (ha-mode all, ha-sync-mode automatic; deprecated in
	// RabbitMQ 3.x, still supported by 3.10).
	QueueMirrored = "mirrored"
	// QueueQuorum: quorum queues (Raft, replicated to every node).
	QueueQuorum = "quorum"
)

// QueueTypes lists the queue types a lab may run with.
var QueueTypes = []string{QueueClassic, QueueMirrored, QueueQuorum}

// ValidQueueType reports an unknown queue type; "" (classic) is valid.
func ValidQueueType(t string) error {
	if t == "" || slices.Contains(QueueTypes, t) {
		return nil
	}
	return fmt.Errorf("queue type %q: want one of %v", t, QueueTypes)
}

// DeclaredType is the type services declare their queues with for the lab's
// queue type t: "quorum" for quorum, "" (each queue's own, classic)
// otherwise; mirrored queues are classic queues a policy mirrors.
func DeclaredType(t string) string {
	if t == QueueQuorum {
		return QueueQuorum
	}
	return ""
}

// MirrorPolicyName is the name of the policy MirrorPolicy sets.
const MirrorPolicyName = "tflab-ha-all"

// MirrorPolicy makes every classic queue of vhost mirrored to all nodes,
// through rabbitmqctl on node.
func MirrorPolicy(ctx context.Context, node *rabbitnode.Node, vhost string) error {
	if _, err := node.Ctl(ctx, "set_policy", "-p", vhost, "--apply-to", "queues", MirrorPolicyName, ".*",
		`{"ha-mode":"all","ha-sync-mode":"automatic"}`); err != nil {
		return fmt.Errorf("set mirroring policy on vhost %s: %w", vhost, err)
	}
	return nil
}
