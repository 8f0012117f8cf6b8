package lab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
)

// ReadSnapshot is Ticketflow's snapshotter: it reads the databases into a
// snapshot (without dead letters): inquiries, tickets, SLA records, Communication's messages and
// alerts. A service's rows are read from each of its instances' databases.
// A database that does not exist, or lacks the service's table, contributes
// nothing.
func ReadSnapshot(ctx context.Context, dbs []sut.DB) (*tfhistory.Snapshot, error) {
	var snap tfhistory.Snapshot
	var errs []error
	for _, d := range dbs {
		db, err := sut.OpenReadOnly(d.Path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Instance, err))
			continue
		}
		if err := readService(ctx, db, d.Service, &snap); err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s: %w", d.Instance, err))
		}
		db.Close()
	}
	sort.Slice(snap.Inquiries, func(i, j int) bool { return snap.Inquiries[i].ID < snap.Inquiries[j].ID })
	sort.Slice(snap.Tickets, func(i, j int) bool { return snap.Tickets[i].ID < snap.Tickets[j].ID })
	sort.Slice(snap.Reminders, func(i, j int) bool { return snap.Reminders[i].TicketID < snap.Reminders[j].TicketID })
	sort.SliceStable(snap.Messages, func(i, j int) bool { return snap.Messages[i].CreatedAt.Before(snap.Messages[j].CreatedAt) })
	sort.SliceStable(snap.Alerts, func(i, j int) bool { return snap.Alerts[i].CreatedAt.Before(snap.Alerts[j].CreatedAt) })
	return &snap, errors.Join(errs...)
}

// Snapshot is ReadSnapshot as the system's snapshotter.
func Snapshot(ctx context.Context, dbs []sut.DB) (any, error) { return ReadSnapshot(ctx, dbs) }

func readService(ctx context.Context, db *sql.DB, service string, snap *tfhistory.Snapshot) error {
	read := map[string]struct {
		table string
		fn    func(context.Context, *sql.DB, *tfhistory.Snapshot) error
	}{
		"inquiries":     {"inquiries", readInquiries},
		"tickets":       {"tickets", readTickets},
		"sla":           {"sla_records", readReminders},
		"communication": {"messages", readCommunication},
	}[service]
	if read.fn == nil {
		return nil
	}
	ok, err := sut.HasTable(ctx, db, read.table)
	if err != nil || !ok {
		return err
	}
	return read.fn(ctx, db, snap)
}

// parseStored reads the services' fixed-width UTC text ("" = zero).
func parseStored(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// known maps the enums' "Unknown" to "" (not yet set).
func known(s string) string {
	if s == "Unknown" {
		return ""
	}
	return s
}

func readInquiries(ctx context.Context, db *sql.DB, snap *tfhistory.Snapshot) error {
	rows, err := db.QueryContext(ctx, `SELECT id, status, ticket_id, email, language_code, created_at FROM inquiries`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var q tfhistory.Inquiry
		var created string
		if err := rows.Scan(&q.ID, &q.Status, &q.TicketID, &q.Email, &q.Language, &created); err != nil {
			return err
		}
		if q.CreatedAt, err = parseStored(created); err != nil {
			return fmt.Errorf("inquiry %s: %w", q.ID, err)
		}
		snap.Inquiries = append(snap.Inquiries, q)
	}
	return rows.Err()
}

func readTickets(ctx context.Context, db *sql.DB, snap *tfhistory.Snapshot) error {
	rows, err := db.QueryContext(ctx, `SELECT id, status, version, type, severity, email, language_code,
		translated_description, assigned_to, created_at, deadline_utc, resolution FROM tickets`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t tfhistory.Ticket
		var created, deadline string
		if err := rows.Scan(&t.ID, &t.Status, &t.Version, &t.Type, &t.Severity, &t.Email, &t.Language,
			&t.Translation, &t.AssignedTo, &created, &deadline, &t.Resolution); err != nil {
			return err
		}
		t.Type, t.Severity = known(t.Type), known(t.Severity)
		if t.CreatedAt, err = parseStored(created); err != nil {
			return fmt.Errorf("ticket %s: %w", t.ID, err)
		}
		d, err := parseStored(deadline)
		if err != nil {
			return fmt.Errorf("ticket %s deadline: %w", t.ID, err)
		}
		if !d.IsZero() {
			t.Deadline = &d
		}
		snap.Tickets = append(snap.Tickets, t)
	}
	return rows.Err()
}

// querier adapts *sql.DB to the SLA store's Querier, so the records are
// decoded by the service's own reader.
type querier struct{ db *sql.DB }

func (q querier) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return nil, errors.New("snapshot readers do not write")
}

func (q querier) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.db.QueryContext(ctx, query, args...)
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.db.QueryRowContext(ctx, query, args...)
}

// readReminders decodes each SLA record with the SLA service's own store and
// asks the record itself for its effective deadline and reminder times (the
// stored times exclude blocked time).
func readReminders(ctx context.Context, db *sql.DB, snap *tfhistory.Snapshot) error {
	rows, err := db.QueryContext(ctx, `SELECT ticket_id FROM sla_records ORDER BY ticket_id`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	cfg := sla.DefaultConfig()
	st := sla.NewSQLStore(querier{db}, cfg, nil)
	for _, id := range ids {
		rec, err := st.Record(ctx, id)
		if err != nil {
			return err
		}
		r := tfhistory.Reminder{TicketID: rec.TicketID, ServiceType: known(string(rec.ServiceType)),
			LastKnownVersion: int64(rec.LastKnownVersion), UserToRemind: rec.AgentUserID,
			FirstSent: !rec.ReminderSent[0].IsZero(), SecondSent: !rec.ReminderSent[1].IsZero(),
			FinalSent: !rec.ReminderSent[2].IsZero(), Completed: rec.Completed,
			AnchorAt: rec.Anchor, Paused: history.Duration(rec.Paused)}
		if rec.HasDeadline {
			dl := rec.Deadline()
			f, s, fi := rec.ReminderAt(cfg, 0), rec.ReminderAt(cfg, 1), rec.ReminderAt(cfg, 2)
			r.Deadline, r.FirstAt, r.SecondAt, r.FinalAt = &dl, &f, &s, &fi
		}
		snap.Reminders = append(snap.Reminders, r)
	}
	return nil
}

// readCommunication reads the inbox messages and the alerts. A message's
// kind, reminder number and ticket come from its idempotency key:
// closure:<ticket>, reminder:<ticket>:<n>, breach-message:<ticket>:<n>; an
// alert's ticket from incident:<ticket> or breach:<ticket>:<n>.
func readCommunication(ctx context.Context, db *sql.DB, snap *tfhistory.Snapshot) error {
	rows, err := db.QueryContext(ctx, `SELECT id, recipent_email, recipent_user_id, timestamp, idempotency_key FROM messages ORDER BY seq`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var m tfhistory.Message
		var email, user, ts string
		if err := rows.Scan(&m.ID, &email, &user, &ts, &m.Key); err != nil {
			rows.Close()
			return err
		}
		m.Recipient = email
		if m.Recipient == "" {
			m.Recipient = user
		}
		if m.CreatedAt, err = parseStored(ts); err != nil {
			rows.Close()
			return fmt.Errorf("message %s: %w", m.ID, err)
		}
		m.Kind, m.TicketID, m.Reminder = messageKind(m.Key)
		snap.Messages = append(snap.Messages, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if ok, err := sut.HasTable(ctx, db, "alerts"); err != nil || !ok {
		return err
	}
	rows, err = db.QueryContext(ctx, `SELECT id, type, created_at, idempotency_key FROM alerts ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a tfhistory.Alert
		var at string
		if err := rows.Scan(&a.ID, &a.Type, &at, &a.Key); err != nil {
			return err
		}
		if a.CreatedAt, err = parseStored(at); err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
		a.TicketID = alertTicket(a.Key)
		snap.Alerts = append(snap.Alerts, a)
	}
	return rows.Err()
}

// messageKind reads an inbox message's idempotency key.
func messageKind(key string) (kind, ticket string, reminder int) {
	prefix, rest, _ := strings.Cut(key, ":")
	switch prefix {
	case "closure":
		return tfhistory.MessageClosure, rest, 0
	case "reminder", "breach-message":
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			break
		}
		if prefix == "reminder" {
			return tfhistory.MessageReminder, rest[:i], n
		}
		return tfhistory.MessageBreach, rest[:i], 0
	}
	return tfhistory.MessageOther, "", 0
}

// alertTicket reads the ticket id out of an alert's idempotency key.
func alertTicket(key string) string {
	prefix, rest, _ := strings.Cut(key, ":")
	switch prefix {
	case "incident":
		return rest
	case "breach":
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			return rest[:i]
		}
	}
	return ""
}
