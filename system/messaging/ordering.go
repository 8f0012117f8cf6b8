package messaging

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// OrderOutcome is the ordering guard's decision for one versioned message.
type OrderOutcome string

// Outcomes; the strings are the lab.order.outcome span values.
const (
	OrderApplied OrderOutcome = otelamqp.OrderApplied // next version, or the first one seen: apply it
	OrderStale   OrderOutcome = otelamqp.OrderStale   // version already applied (older or duplicate): skip it
	OrderEarly   OrderOutcome = otelamqp.OrderEarly   // a version is missing in between: hold it back, retry later
	OrderOff     OrderOutcome = otelamqp.OrderOff     // guard off or message not versioned
)

// DecideOrder is the guard's rule. With no version applied yet (seen false)
// and a known first version (first > 0), only first is applied, earlier ones
// are stale and later ones early, so a reordered stream cannot start in the
// middle; with first == 0 (unknown start) the first version seen is applied.
// Once a version is applied, only last+1 is applied, versions <= last are
// stale and versions > last+1 are early.
func DecideOrder(last int64, seen bool, version, first int64) OrderOutcome {
	if !seen && first > 0 {
		switch {
		case version == first:
			return OrderApplied
		case version < first:
			return OrderStale
		default:
			return OrderEarly
		}
	}
	switch {
	case !seen || version == last+1:
		return OrderApplied
	case version <= last:
		return OrderStale
	default:
		return OrderEarly
	}
}

// errEarly makes the handling transaction roll back when a message is early.
var errEarly = errors.New("early version")

// guardOrder applies the rule inside tx: it records the decision in
// order_events and, for applied, advances aggregate_versions. It returns the
// outcome and the last applied version (0 if none).
func guardOrder(ctx context.Context, tx *store.Tx, scope string, first int64, m Message) (OrderOutcome, int64, error) {
	var last int64
	seen := true
	err := tx.QueryRow(ctx, `SELECT version FROM aggregate_versions WHERE scope = ? AND aggregate_id = ?`, scope, m.AggregateID).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		seen, err = false, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read aggregate version: %w", err)
	}
	out := DecideOrder(last, seen, m.AggregateVersion, first)
	if out == OrderApplied {
		if _, err := tx.Exec(ctx, `INSERT INTO aggregate_versions (scope, aggregate_id, version) VALUES (?, ?, ?)
			ON CONFLICT (scope, aggregate_id) DO UPDATE SET version = excluded.version`, scope, m.AggregateID, m.AggregateVersion); err != nil {
			return "", 0, fmt.Errorf("store aggregate version: %w", err)
		}
	}
	if err := recordOrder(ctx, tx, scope, m, last, out); err != nil {
		return "", 0, err
	}
	return out, last, nil
}

func recordOrder(ctx context.Context, tx *store.Tx, scope string, m Message, last int64, out OrderOutcome) error {
	if _, err := tx.Exec(ctx, `INSERT INTO order_events (scope, aggregate_id, version, last_version, message_id, type, outcome, decided_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, scope, m.AggregateID, m.AggregateVersion, last, m.ID, m.Type, string(out), now()); err != nil {
		return fmt.Errorf("record order outcome: %w", err)
	}
	return nil
}

// inboxInsert stores the (queue, message id) pair; false means it was
// already there: a duplicate.
func inboxInsert(ctx context.Context, tx *store.Tx, queue string, m Message) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO inbox (queue, message_id, type, processed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (queue, message_id) DO NOTHING`, queue, m.ID, m.Type, now())
	if err != nil {
		return false, fmt.Errorf("inbox insert: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox insert: %w", err)
	}
	return n == 1, nil
}

func recordDuplicate(ctx context.Context, tx *store.Tx, queue string, m Message, redelivered bool, traceID string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO dedup_skips (queue, message_id, type, redelivered, trace_id, skipped_at) VALUES (?, ?, ?, ?, ?, ?)`,
		queue, m.ID, m.Type, redelivered, traceID, now()); err != nil {
		return fmt.Errorf("record dedup skip: %w", err)
	}
	return nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }
