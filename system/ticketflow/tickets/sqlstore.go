package tickets

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the Tickets schema (tickets, parked_translations).
var Migrations = store.EmbeddedMigrations("tickets", migrationFiles, "migrations")

type sqlRunner = store.Querier

// SQLStore implements Repo (bound to a transaction) and Queries (on the
// database) over the SQLite tables of Migrations.
type SQLStore struct {
	q sqlRunner
}

var (
	_ Repo    = (*SQLStore)(nil)
	_ Queries = (*SQLStore)(nil)
)

// NewSQLRepo binds the store to one transaction (for Desk methods).
func NewSQLRepo(tx *store.Tx) *SQLStore { return &SQLStore{q: tx} }

// NewSQLQueries reads from the database outside any transaction.
func NewSQLQueries(db *store.DB) *SQLStore { return &SQLStore{q: db} }

// timeFormat is fixed-width UTC, so text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeFormat, s)
}

const ticketColumns = `id, inquiry_id, name, email, title, description, language_code, created_at, type, status, severity,
	category, translated_description, notes, internal_notes, assigned_to, version, deadline_utc, deadline_revision, resolution`

type scanner interface{ Scan(dest ...any) error }

func scanTicket(s scanner) (*Ticket, error) {
	var t Ticket
	var created, deadline string
	var typ, status, sev, cat string
	if err := s.Scan(&t.ID, &t.InquiryID, &t.Name, &t.Email, &t.Title, &t.Description, &t.LanguageCode, &created,
		&typ, &status, &sev, &cat, &t.TranslatedDescription, &t.Notes, &t.InternalNotes, &t.AssignedTo, &t.Version,
		&deadline, &t.DeadlineRevision, &t.Resolution); err != nil {
		return nil, err
	}
	t.Type, t.Status, t.Severity, t.Category = contracts.TicketType(typ), contracts.TicketStatus(status), contracts.Severity(sev), contracts.Category(cat)
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("ticket %s created_at: %w", t.ID, err)
	}
	if t.DeadlineUTC, err = parseTime(deadline); err != nil {
		return nil, fmt.Errorf("ticket %s deadline: %w", t.ID, err)
	}
	return &t, nil
}

// Ticket loads a ticket; a missing one wraps ErrNotFound.
func (s *SQLStore) Ticket(ctx context.Context, id string) (*Ticket, error) {
	t, err := scanTicket(s.q.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, NotFound("ticket", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket %s: %w", id, err)
	}
	return t, nil
}

// SaveTicket inserts or updates a ticket (pending events are not stored).
func (s *SQLStore) SaveTicket(ctx context.Context, t *Ticket) error {
	_, err := s.q.Exec(ctx, `INSERT INTO tickets (`+ticketColumns+`, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET inquiry_id = excluded.inquiry_id, name = excluded.name, email = excluded.email,
			title = excluded.title, description = excluded.description, language_code = excluded.language_code,
			created_at = excluded.created_at, type = excluded.type, status = excluded.status, severity = excluded.severity,
			category = excluded.category, translated_description = excluded.translated_description, notes = excluded.notes,
			internal_notes = excluded.internal_notes, assigned_to = excluded.assigned_to, version = excluded.version,
			deadline_utc = excluded.deadline_utc, deadline_revision = excluded.deadline_revision,
			resolution = excluded.resolution, updated_at = excluded.updated_at`,
		t.ID, t.InquiryID, t.Name, t.Email, t.Title, t.Description, t.LanguageCode, fmtTime(t.CreatedAt),
		string(t.Type), string(t.Status), string(t.Severity), string(t.Category), t.TranslatedDescription, t.Notes,
		t.InternalNotes, t.AssignedTo, t.Version, fmtTime(t.DeadlineUTC), t.DeadlineRevision, t.Resolution,
		fmtTime(time.Now()))
	if err != nil {
		return fmt.Errorf("save ticket %s: %w", t.ID, err)
	}
	return nil
}

// Tickets lists tickets matching f, newest first then by id (as Select),
// with the total count of matches.
func (s *SQLStore) Tickets(ctx context.Context, f ListFilter) ([]*Ticket, int, error) {
	if f.Page < 1 {
		f.Page = 1
	}
	if f.Limit < 1 {
		f.Limit = DefaultLimit
	}
	var where []string
	var args []any
	if f.AgentID != "" {
		where, args = append(where, "assigned_to = ? COLLATE NOCASE"), append(args, f.AgentID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.q.QueryRow(ctx, `SELECT COUNT(*) FROM tickets`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tickets: %w", err)
	}
	rows, err := s.q.Query(ctx, `SELECT `+ticketColumns+` FROM tickets`+cond+` ORDER BY created_at DESC, id LIMIT ? OFFSET ?`,
		append(args, f.Limit, (f.Page-1)*f.Limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	out := []*Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list tickets: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list tickets: %w", err)
	}
	return out, total, nil
}

// Parked returns the parked translation of referenceID, if any.
func (s *SQLStore) Parked(ctx context.Context, referenceID string) (Parked, bool, error) {
	p := Parked{ReferenceID: referenceID}
	var skipped int
	var at string
	err := s.q.QueryRow(ctx, `SELECT translated_text, skipped, parked_at FROM parked_translations WHERE reference_id = ?`,
		referenceID).Scan(&p.TranslatedText, &skipped, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Parked{}, false, nil
	}
	if err != nil {
		return Parked{}, false, fmt.Errorf("load parked translation %s: %w", referenceID, err)
	}
	p.Skipped = skipped != 0
	if p.ParkedAt, err = parseTime(at); err != nil {
		return Parked{}, false, fmt.Errorf("parked translation %s: %w", referenceID, err)
	}
	return p, true, nil
}

// Park stores p, replacing an earlier entry for the same reference.
func (s *SQLStore) Park(ctx context.Context, p Parked) error {
	skipped := 0
	if p.Skipped {
		skipped = 1
	}
	_, err := s.q.Exec(ctx, `INSERT INTO parked_translations (reference_id, translated_text, skipped, parked_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (reference_id) DO UPDATE SET translated_text = excluded.translated_text,
		skipped = excluded.skipped, parked_at = excluded.parked_at`, p.ReferenceID, p.TranslatedText, skipped, fmtTime(p.ParkedAt))
	if err != nil {
		return fmt.Errorf("park translation %s: %w", p.ReferenceID, err)
	}
	return nil
}

// Unpark deletes the entry of referenceID (no error when absent).
func (s *SQLStore) Unpark(ctx context.Context, referenceID string) error {
	if _, err := s.q.Exec(ctx, `DELETE FROM parked_translations WHERE reference_id = ?`, referenceID); err != nil {
		return fmt.Errorf("unpark translation %s: %w", referenceID, err)
	}
	return nil
}
