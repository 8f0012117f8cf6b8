package common

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// WriteLogMigrations create the writes table every ticketsale service with
// versioned records keeps.
var WriteLogMigrations = store.EmbeddedMigrations("ticketsale-writes", migrationFiles, "migrations")

// Write-log entity names.
const (
	EntityTicket        = "ticket"         // tickets' master
	EntityTicketReplica = "ticket-replica" // orders' replica
	EntityOrder         = "order"          // orders' master
	EntityOrderReplica  = "order-replica"  // payments' replica
)

// Write is one row of the write log.
type Write struct {
	Seq     int64           `json:"seq"`
	Entity  string          `json:"entity"`
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Data    json.RawMessage `json:"data"`
	Cause   string          `json:"cause"`
	At      string          `json:"at"`
}

// RecordWrite appends a write of record (id, version) caused by cause.
func RecordWrite(ctx context.Context, q store.Querier, entity, id string, version int64, record any, cause string, at time.Time) error {
	b, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	if _, err := q.Exec(ctx, `INSERT INTO writes (entity, id, version, data, cause, at) VALUES (?, ?, ?, ?, ?, ?)`,
		entity, id, version, string(b), cause, at.UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

// Writes returns the write log of entity (all entities when empty) in
// commit order.
func Writes(ctx context.Context, q store.Querier, entity string) ([]Write, error) {
	rows, err := q.Query(ctx, `SELECT seq, entity, id, version, data, cause, at FROM writes
		WHERE ? = '' OR entity = ? ORDER BY seq`, entity, entity)
	if err != nil {
		return nil, fmt.Errorf("read write log: %w", err)
	}
	defer rows.Close()
	var out []Write
	for rows.Next() {
		var w Write
		var data string
		if err := rows.Scan(&w.Seq, &w.Entity, &w.ID, &w.Version, &data, &w.Cause, &w.At); err != nil {
			return nil, fmt.Errorf("read write log: %w", err)
		}
		w.Data = json.RawMessage(data)
		out = append(out, w)
	}
	return out, rows.Err()
}
