package inquiries

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

// Migrations is the Inquiries schema (table inquiries).
var Migrations = store.EmbeddedMigrations("inquiries", migrationFiles, "migrations")

type sqlRunner = store.Querier

// SQLStore implements Store (bound to a transaction) and Lister (on the
// database) over the inquiries table of Migrations.
type SQLStore struct {
	q sqlRunner
}

var (
	_ Store  = (*SQLStore)(nil)
	_ Lister = (*SQLStore)(nil)
)

// NewSQLStore binds the store to one transaction.
func NewSQLStore(tx *store.Tx) *SQLStore { return &SQLStore{q: tx} }

// NewSQLLister reads from the database outside any transaction.
func NewSQLLister(db *store.DB) *SQLStore { return &SQLStore{q: db} }

// timeFormat is fixed-width UTC, so text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

const columns = `id, name, email, title, description, created_at, status, category, ticket_id, language_code`

type scanner interface{ Scan(dest ...any) error }

func scan(s scanner) (*Inquiry, error) {
	var q Inquiry
	var created, status, cat string
	if err := s.Scan(&q.ID, &q.Name, &q.Email, &q.Title, &q.Description, &created, &status, &cat, &q.TicketID, &q.LanguageCode); err != nil {
		return nil, err
	}
	q.Status, q.Category = contracts.InquiryStatus(status), contracts.Category(cat)
	t, err := time.Parse(timeFormat, created)
	if err != nil {
		return nil, fmt.Errorf("inquiry %s created_at: %w", q.ID, err)
	}
	q.CreatedAt = t
	return &q, nil
}

// Inquiry loads an inquiry; missing wraps ErrNotFound.
func (s *SQLStore) Inquiry(ctx context.Context, id string) (*Inquiry, error) {
	q, err := scan(s.q.QueryRow(ctx, `SELECT `+columns+` FROM inquiries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("inquiry %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load inquiry %s: %w", id, err)
	}
	return q, nil
}

// SaveInquiry inserts or updates an inquiry.
func (s *SQLStore) SaveInquiry(ctx context.Context, q *Inquiry) error {
	_, err := s.q.Exec(ctx, `INSERT INTO inquiries (`+columns+`, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, title = excluded.title,
			description = excluded.description, created_at = excluded.created_at, status = excluded.status,
			category = excluded.category, ticket_id = excluded.ticket_id, language_code = excluded.language_code,
			updated_at = excluded.updated_at`,
		q.ID, q.Name, q.Email, q.Title, q.Description, q.CreatedAt.UTC().Format(timeFormat), string(q.Status),
		string(q.Category), q.TicketID, q.LanguageCode, time.Now().UTC().Format(timeFormat))
	if err != nil {
		return fmt.Errorf("save inquiry %s: %w", q.ID, err)
	}
	return nil
}

// Inquiries pages inquiries newest first (then by id, as Page) and returns
// the total count.
func (s *SQLStore) Inquiries(ctx context.Context, page, limit int) ([]*Inquiry, int, error) {
	page, limit = max(page, 1), max(limit, 1)
	var total int
	if err := s.q.QueryRow(ctx, `SELECT COUNT(*) FROM inquiries`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count inquiries: %w", err)
	}
	rows, err := s.q.Query(ctx, `SELECT `+columns+` FROM inquiries ORDER BY created_at DESC, id LIMIT ? OFFSET ?`,
		limit, (page-1)*limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list inquiries: %w", err)
	}
	defer rows.Close()
	out := []*Inquiry{}
	for rows.Next() {
		q, err := scan(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list inquiries: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list inquiries: %w", err)
	}
	return out, total, nil
}
