package expiration

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the expiration service's schema.
var Migrations = store.EmbeddedMigrations("ticketsale-expiration", migrationFiles, "migrations")

// QueueName is the course's Bull queue name, kept as the jobs' label.
const QueueName = "order:expiration"

// Job is one delayed job: publish expiration:complete for OrderID at Due.
type Job struct {
	ID      string    `json:"id"`
	OrderID string    `json:"orderId"`
	Due     time.Time `json:"due"`
	State   string    `json:"state"`
}

// Job states.
const (
	StateWaiting = "waiting"
	StateDone    = "done"
)

// Schedule is the order:created listener: a job for the order, due at its
// expiresAt (compared with this service's clock, so a skewed clock shifts
// the window, L14). Fixed expirationJobId: the job id is the order id, so a
// duplicate event schedules nothing new; faithful: a random id, so it
// schedules a second job (L5). It reports whether a job was added.
func Schedule(ctx context.Context, q store.Querier, tg common.Toggles, ev common.OrderCreatedEvent, now time.Time) (bool, error) {
	due, err := common.ParseTime(ev.ExpiresAt)
	if err != nil {
		return false, fmt.Errorf("order %s: expiresAt %q: %w", ev.ID, ev.ExpiresAt, err)
	}
	id := messaging.NewID()
	if tg.Fixed(common.ExpirationJobID) {
		id = ev.ID
	}
	res, err := q.Exec(ctx, `INSERT INTO jobs (id, order_id, due_ms, state, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		id, ev.ID, due.UnixMilli(), StateWaiting, now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return false, fmt.Errorf("schedule expiration of %s: %w", ev.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Due lists up to limit waiting jobs due at now, earliest first.
func Due(ctx context.Context, q store.Querier, now time.Time, limit int) ([]Job, error) {
	return queryJobs(ctx, q, "due jobs", `WHERE state = ? AND due_ms <= ? ORDER BY due_ms, rowid LIMIT ?`,
		StateWaiting, now.UnixMilli(), limit)
}

// Jobs lists every job, oldest first.
func Jobs(ctx context.Context, q store.Querier) ([]Job, error) {
	return queryJobs(ctx, q, "jobs", `ORDER BY rowid`)
}

// queryJobs lists the jobs the SQL tail (filter and order) selects; what
// names the query in errors.
func queryJobs(ctx context.Context, q store.Querier, what, tail string, args ...any) ([]Job, error) {
	rows, err := q.Query(ctx, `SELECT id, order_id, due_ms, state FROM jobs `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		var ms int64
		if err := rows.Scan(&j.ID, &j.OrderID, &ms, &j.State); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		j.Due = time.UnixMilli(ms).UTC()
		out = append(out, j)
	}
	return out, rows.Err()
}

// Complete marks a waiting job done and returns its expiration:complete
// event; a job another worker already completed returns no event.
func Complete(ctx context.Context, q store.Querier, j Job, now time.Time) ([]common.Event, error) {
	res, err := q.Exec(ctx, `UPDATE jobs SET state = ?, done_at = ? WHERE id = ? AND state = ?`,
		StateDone, now.UTC().Format(time.RFC3339Nano), j.ID, StateWaiting)
	if err != nil {
		return nil, fmt.Errorf("complete job %s: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, nil
	}
	return []common.Event{{Subject: common.SubjectExpirationComplete, AggregateID: j.OrderID,
		Payload: common.ExpirationComplete{OrderID: j.OrderID}}}, nil
}
