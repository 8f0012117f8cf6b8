package sla

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the SLA schema (sla_records, sla_effects); apply it with the
// messaging migrations.
var Migrations = store.EmbeddedMigrations("sla", migrationFiles, "migrations")

// Querier runs statements: a transaction, or the database for reads.
type Querier = store.Querier

// TimeLayout is how the SLA tables store instants: fixed-width UTC, so text
// order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t, nil
}

// SQLStore is the SQLite Store and Reader of SLA records. SaveRecord also
// stores when the record next needs the scheduler (NextDue at the clock's
// now), which DueTickets and NextDueAt read.
type SQLStore struct {
	Q      Querier
	Config Config
	Clock  clock.Clock
}

var (
	_ Store  = (*SQLStore)(nil)
	_ Reader = (*SQLStore)(nil)
)

// NewSQLStore binds a store to q (a transaction or the database).
func NewSQLStore(q Querier, cfg Config, clk clock.Clock) *SQLStore {
	return &SQLStore{Q: q, Config: cfg, Clock: clock.Or(clk)}
}

const recordColumns = `ticket_id, service_type, severity, tier, last_known_version, agent_user_id, has_deadline,
	anchor, window_ns, paused_ns, blocked_at, revision, reminder1_sent, reminder2_sent, reminder3_sent,
	reminder1_skipped, reminder2_skipped, reminder3_skipped, breaches, last_breach_active, completed,
	completed_at, deadline_met, reminders_at`

// Record loads the record of a ticket; a missing one wraps ErrNotFound.
func (s *SQLStore) Record(ctx context.Context, ticketID string) (*Record, error) {
	row := s.Q.QueryRow(ctx, `SELECT `+recordColumns+` FROM sla_records WHERE ticket_id = ?`, ticketID)
	r, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("ticket %s: %w", ticketID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load sla record %s: %w", ticketID, err)
	}
	return r, nil
}

func scanRecord(row interface{ Scan(...any) error }) (*Record, error) {
	var (
		r                                          Record
		st, sev, tier                              string
		hasDeadline, completed                     bool
		anchor, blockedAt, lastBreach, completedAt string
		remindersAt                                string
		sent                                       [Reminders]string
		windowNS, pausedNS                         int64
		met                                        sql.NullBool
	)
	if err := row.Scan(&r.TicketID, &st, &sev, &tier, &r.LastKnownVersion, &r.AgentUserID, &hasDeadline,
		&anchor, &windowNS, &pausedNS, &blockedAt, &r.Revision, &sent[0], &sent[1], &sent[2],
		&r.ReminderSkipped[0], &r.ReminderSkipped[1], &r.ReminderSkipped[2], &r.Breaches, &lastBreach, &completed,
		&completedAt, &met, &remindersAt); err != nil {
		return nil, err
	}
	r.ServiceType, r.Severity, r.Tier = contracts.ServiceType(st), contracts.Severity(sev), Tier(tier)
	r.HasDeadline, r.Completed = hasDeadline, completed
	r.Window, r.Paused = time.Duration(windowNS), time.Duration(pausedNS)
	var errs []error
	parse := func(dst *time.Time, s string) {
		t, err := parseTime(s)
		errs = append(errs, err)
		*dst = t
	}
	parse(&r.Anchor, anchor)
	parse(&r.BlockedAt, blockedAt)
	parse(&r.LastBreachActive, lastBreach)
	parse(&r.CompletedAt, completedAt)
	parse(&r.RemindersAt, remindersAt)
	for i := range Reminders {
		parse(&r.ReminderSent[i], sent[i])
	}
	if met.Valid {
		v := met.Bool
		r.DeadlineMet = &v
	}
	return &r, errors.Join(errs...)
}

// SaveRecord inserts or replaces the record.
func (s *SQLStore) SaveRecord(ctx context.Context, r *Record) error {
	now := s.Clock.Now()
	var next any
	if at, ok := NextDue(s.Config, r, now); ok {
		next = ceilMilli(at)
	}
	var met any
	if r.DeadlineMet != nil {
		met = *r.DeadlineMet
	}
	deadline := ""
	if r.HasDeadline {
		deadline = fmtTime(r.Deadline())
	}
	_, err := s.Q.Exec(ctx, `INSERT INTO sla_records (`+recordColumns+`, deadline, next_due_ms, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (ticket_id) DO UPDATE SET service_type=excluded.service_type, severity=excluded.severity,
		tier=excluded.tier, last_known_version=excluded.last_known_version, agent_user_id=excluded.agent_user_id,
		has_deadline=excluded.has_deadline, anchor=excluded.anchor, window_ns=excluded.window_ns,
		paused_ns=excluded.paused_ns, blocked_at=excluded.blocked_at, revision=excluded.revision,
		reminder1_sent=excluded.reminder1_sent, reminder2_sent=excluded.reminder2_sent,
		reminder3_sent=excluded.reminder3_sent, reminder1_skipped=excluded.reminder1_skipped,
		reminder2_skipped=excluded.reminder2_skipped, reminder3_skipped=excluded.reminder3_skipped,
		breaches=excluded.breaches, last_breach_active=excluded.last_breach_active, completed=excluded.completed,
		completed_at=excluded.completed_at, deadline_met=excluded.deadline_met, reminders_at=excluded.reminders_at,
		deadline=excluded.deadline,
		next_due_ms=excluded.next_due_ms, updated_at=excluded.updated_at`,
		r.TicketID, string(r.ServiceType), string(r.Severity), string(r.Tier), r.LastKnownVersion, r.AgentUserID, r.HasDeadline,
		fmtTime(r.Anchor), int64(r.Window), int64(r.Paused), fmtTime(r.BlockedAt), r.Revision,
		fmtTime(r.ReminderSent[0]), fmtTime(r.ReminderSent[1]), fmtTime(r.ReminderSent[2]),
		r.ReminderSkipped[0], r.ReminderSkipped[1], r.ReminderSkipped[2], r.Breaches, fmtTime(r.LastBreachActive), r.Completed,
		fmtTime(r.CompletedAt), met, fmtTime(r.RemindersAt), deadline, next, fmtTime(now))
	if err != nil {
		return fmt.Errorf("save sla record %s: %w", r.TicketID, err)
	}
	return nil
}

// ceilMilli is t in unix milliseconds, rounded up: a record is selected as
// due only once its action really is due (rounding down would wake the
// scheduler up to a millisecond early, find nothing due and back off).
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// DueTickets returns up to limit tickets whose next action is due at or
// before now, most overdue first.
func (s *SQLStore) DueTickets(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.Q.Query(ctx, `SELECT ticket_id FROM sla_records WHERE next_due_ms IS NOT NULL AND next_due_ms <= ?
		ORDER BY next_due_ms, ticket_id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due sla records: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("due sla records: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// NextDueAt returns the earliest pending due instant of any record; ok is
// false when nothing is pending.
func (s *SQLStore) NextDueAt(ctx context.Context) (time.Time, bool, error) {
	var ms sql.NullInt64
	if err := s.Q.QueryRow(ctx, `SELECT MIN(next_due_ms) FROM sla_records WHERE next_due_ms IS NOT NULL`).Scan(&ms); err != nil {
		return time.Time{}, false, fmt.Errorf("next sla due time: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64).UTC(), true, nil
}

// EffectRow is one performed scheduler action (table sla_effects).
type EffectRow struct {
	Key         string
	TicketID    string
	Kind        ActionKind
	N           int
	Due, Done   time.Time
	AgentUserID string
	MessageKey  string
}

// AddEffect records a performed action once per key; inserted is false when
// the key was already recorded.
func (s *SQLStore) AddEffect(ctx context.Context, e EffectRow) (inserted bool, err error) {
	res, err := s.Q.Exec(ctx, `INSERT INTO sla_effects (key, ticket_id, kind, n, due_at, done_at, agent_user_id, message_key)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING`,
		e.Key, e.TicketID, string(e.Kind), e.N, fmtTime(e.Due), fmtTime(e.Done), e.AgentUserID, e.MessageKey)
	if err != nil {
		return false, fmt.Errorf("record sla effect %s: %w", e.Key, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Effects lists the performed actions of a ticket ("" = all), by due time.
func (s *SQLStore) Effects(ctx context.Context, ticketID string) ([]EffectRow, error) {
	rows, err := s.Q.Query(ctx, `SELECT key, ticket_id, kind, n, due_at, done_at, agent_user_id, message_key FROM sla_effects
		WHERE ? = '' OR ticket_id = ? ORDER BY due_at, key`, ticketID, ticketID)
	if err != nil {
		return nil, fmt.Errorf("sla effects: %w", err)
	}
	defer rows.Close()
	var out []EffectRow
	for rows.Next() {
		var (
			e         EffectRow
			kind      string
			due, done string
		)
		if err := rows.Scan(&e.Key, &e.TicketID, &kind, &e.N, &due, &done, &e.AgentUserID, &e.MessageKey); err != nil {
			return nil, fmt.Errorf("sla effects: %w", err)
		}
		e.Kind = ActionKind(kind)
		var err1, err2 error
		e.Due, err1 = parseTime(due)
		e.Done, err2 = parseTime(done)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
