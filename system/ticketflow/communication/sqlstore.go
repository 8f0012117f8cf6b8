package communication

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the Communication schema (messages, alerts); apply it with
// the messaging migrations.
var Migrations = store.EmbeddedMigrations("communication", migrationFiles, "migrations")

// Querier runs statements: a transaction, or the database for reads.
type Querier = store.Querier

// TimeLayout is how the tables store instants: fixed-width UTC, so text
// order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// SQLStore is the SQLite Store and Queries. With Idempotent (the
// "idempotency" protection) a repeated non-empty key stores nothing; without
// it every Add inserts a row, so a redelivery or a retried POST shows up as
// a duplicate effect.
type SQLStore struct {
	Q          Querier
	Idempotent bool
}

var (
	_ Store   = (*SQLStore)(nil)
	_ Queries = (*SQLStore)(nil)
)

// NewSQLStore binds a store to q.
func NewSQLStore(q Querier, idempotent bool) *SQLStore {
	return &SQLStore{Q: q, Idempotent: idempotent}
}

func (s *SQLStore) dedupKey(key string) any {
	if !s.Idempotent || key == "" {
		return nil
	}
	return key
}

// AddMessage implements Store.
func (s *SQLStore) AddMessage(ctx context.Context, m Message) (string, bool, error) {
	dk := s.dedupKey(m.IdempotencyKey)
	res, err := s.Q.Exec(ctx, `INSERT INTO messages (id, recipent_email, recipent_user_id, sender_user_id, title, content,
		timestamp, is_read, idempotency_key, dedup_key) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (dedup_key) DO NOTHING`,
		m.ID, m.RecipentEmail, m.RecipentUserID, m.SenderUserID, m.Title, m.Content, fmtTime(m.Timestamp), m.IsRead,
		m.IdempotencyKey, dk)
	if err != nil {
		return "", false, fmt.Errorf("insert message %s: %w", m.ID, err)
	}
	return s.settle(ctx, res, "messages", m.ID, dk)
}

// AddAlert implements Store.
func (s *SQLStore) AddAlert(ctx context.Context, a Alert) (string, bool, error) {
	dk := s.dedupKey(a.IdempotencyKey)
	res, err := s.Q.Exec(ctx, `INSERT INTO alerts (id, message, type, created_at, is_read, idempotency_key, dedup_key)
		VALUES (?,?,?,?,?,?,?) ON CONFLICT (dedup_key) DO NOTHING`,
		a.ID, a.Message, string(a.Type), fmtTime(a.CreatedAt), a.IsRead, a.IdempotencyKey, dk)
	if err != nil {
		return "", false, fmt.Errorf("insert alert %s: %w", a.ID, err)
	}
	return s.settle(ctx, res, "alerts", a.ID, dk)
}

// settle returns the new row's id, or the id of the row that already holds
// the key.
func (s *SQLStore) settle(ctx context.Context, res sql.Result, table, id string, dk any) (string, bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, err
	}
	if n == 1 {
		return id, true, nil
	}
	var existing string
	if err := s.Q.QueryRow(ctx, `SELECT id FROM `+table+` WHERE dedup_key = ?`, dk).Scan(&existing); err != nil {
		return "", false, fmt.Errorf("find %s row of key %v: %w", table, dk, err)
	}
	return existing, false, nil
}

// Alerts implements Queries: newest first, at most limit.
func (s *SQLStore) Alerts(ctx context.Context, onlyUnread bool, limit int) ([]Alert, error) {
	rows, err := s.Q.Query(ctx, `SELECT id, message, type, created_at, is_read, idempotency_key FROM alerts
		WHERE (? = 0 OR is_read = 0) ORDER BY created_at DESC, id LIMIT ?`, onlyUnread, limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var (
			a       Alert
			typ, at string
		)
		if err := rows.Scan(&a.ID, &a.Message, &typ, &at, &a.IsRead, &a.IdempotencyKey); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		a.Type = contracts.AlertType(typ)
		if a.CreatedAt, err = time.Parse(TimeLayout, at); err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.ID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Messages implements Queries: the filter's page, newest first, and the total.
func (s *SQLStore) Messages(ctx context.Context, f MessageFilter) ([]Message, int, error) {
	where := `(? = 0 OR is_read = 0) AND recipent_user_id = ?`
	user := f.UserID
	if f.Anonymous {
		user = ""
	}
	var total int
	if err := s.Q.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE `+where, f.OnlyUnread, user).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count messages: %w", err)
	}
	limit := max(f.Limit, 0)
	rows, err := s.Q.Query(ctx, `SELECT id, recipent_email, recipent_user_id, sender_user_id, title, content, timestamp,
		is_read, idempotency_key FROM messages WHERE `+where+` ORDER BY timestamp DESC, id LIMIT ? OFFSET ?`,
		f.OnlyUnread, user, limit, max(f.Page-1, 0)*limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var (
			m  Message
			ts string
		)
		if err := rows.Scan(&m.ID, &m.RecipentEmail, &m.RecipentUserID, &m.SenderUserID, &m.Title, &m.Content, &ts,
			&m.IsRead, &m.IdempotencyKey); err != nil {
			return nil, 0, fmt.Errorf("list messages: %w", err)
		}
		if m.Timestamp, err = time.Parse(TimeLayout, ts); err != nil {
			return nil, 0, fmt.Errorf("message %s: %w", m.ID, err)
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// SetAlertRead implements Queries.
func (s *SQLStore) SetAlertRead(ctx context.Context, id string, read bool) error {
	return s.setRead(ctx, "alerts", "alert", id, read)
}

// SetMessageRead implements Queries.
func (s *SQLStore) SetMessageRead(ctx context.Context, id string, read bool) error {
	return s.setRead(ctx, "messages", "message", id, read)
}

func (s *SQLStore) setRead(ctx context.Context, table, what, id string, read bool) error {
	res, err := s.Q.Exec(ctx, `UPDATE `+table+` SET is_read = ? WHERE id = ?`, read, id)
	if err != nil {
		return fmt.Errorf("mark %s %s read: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	return nil
}

// KeyCount is how many rows hold one idempotency key.
type KeyCount struct {
	Key   string
	Count int
}

// DuplicateKeys lists the idempotency keys stored more than once in table
// ("messages" or "alerts"): empty while the idempotency protection holds.
func (s *SQLStore) DuplicateKeys(ctx context.Context, table string) ([]KeyCount, error) {
	if table != "messages" && table != "alerts" {
		return nil, errors.New("duplicate keys: table must be messages or alerts")
	}
	rows, err := s.Q.Query(ctx, `SELECT idempotency_key, COUNT(*) FROM `+table+` WHERE idempotency_key <> ''
		GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key`)
	if err != nil {
		return nil, fmt.Errorf("duplicate keys: %w", err)
	}
	defer rows.Close()
	var out []KeyCount
	for rows.Next() {
		var k KeyCount
		if err := rows.Scan(&k.Key, &k.Count); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
