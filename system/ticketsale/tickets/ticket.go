package tickets

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the tickets service's schema.
var Migrations = store.EmbeddedMigrations("ticketsale-tickets", migrationFiles, "migrations")

// Ticket is the master record (the course's Ticket model).
type Ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	OrderID string  `json:"orderId,omitempty"`
	Version int64   `json:"version"`
}

// ErrConflict is a lost optimistic-concurrency update: the stored version
// moved since it was read.
var ErrConflict = errors.New("ticket version conflict")

// Get loads a ticket; nil, nil when absent.
func Get(ctx context.Context, q store.Querier, id string) (*Ticket, error) {
	var t Ticket
	err := q.QueryRow(ctx, `SELECT id, title, price, user_id, order_id, version FROM tickets WHERE id = ?`, id).
		Scan(&t.ID, &t.Title, &t.Price, &t.UserID, &t.OrderID, &t.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket %s: %w", id, err)
	}
	return &t, nil
}

// ListFree returns the tickets no order holds (GET /api/tickets).
func ListFree(ctx context.Context, q store.Querier) ([]Ticket, error) {
	rows, err := q.Query(ctx, `SELECT id, title, price, user_id, order_id, version FROM tickets WHERE order_id = '' ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	out := []Ticket{}
	for rows.Next() {
		var t Ticket
		if err := rows.Scan(&t.ID, &t.Title, &t.Price, &t.UserID, &t.OrderID, &t.Version); err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// insert stores a new ticket at version 0.
func insert(ctx context.Context, q store.Querier, t Ticket, cause string, now time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO tickets (id, title, price, user_id, order_id, version) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Title, t.Price, t.UserID, t.OrderID, t.Version); err != nil {
		return fmt.Errorf("insert ticket %s: %w", t.ID, err)
	}
	return common.RecordWrite(ctx, q, common.EntityTicket, t.ID, t.Version, t, cause, now)
}

// save writes t over the version it was read at (OCC: WHERE version =
// t.Version) and bumps t.Version; ErrConflict when another write won.
func save(ctx context.Context, q store.Querier, t *Ticket, cause string, now time.Time) error {
	res, err := q.Exec(ctx, `UPDATE tickets SET title = ?, price = ?, order_id = ?, version = version + 1
		WHERE id = ? AND version = ?`, t.Title, t.Price, t.OrderID, t.ID, t.Version)
	if err != nil {
		return fmt.Errorf("save ticket %s: %w", t.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: %s at version %d", ErrConflict, t.ID, t.Version)
	}
	t.Version++
	return common.RecordWrite(ctx, q, common.EntityTicket, t.ID, t.Version, t, cause, now)
}

func updatedEvent(t Ticket) common.Event {
	return common.Event{Subject: common.SubjectTicketUpdated, AggregateID: t.ID, Version: t.Version,
		Payload: common.TicketUpdated{ID: t.ID, Version: t.Version, Title: t.Title, Price: t.Price, UserID: t.UserID, OrderID: t.OrderID}}
}

// Create stores a new ticket and returns its ticket:created event.
func Create(ctx context.Context, q store.Querier, t Ticket, now time.Time) (common.Event, error) {
	t.Version, t.OrderID = 0, ""
	if err := insert(ctx, q, t, "POST /api/tickets", now); err != nil {
		return common.Event{}, err
	}
	return common.Event{Subject: common.SubjectTicketCreated, AggregateID: t.ID, Version: 0,
		Payload: common.TicketCreated{ID: t.ID, Version: 0, Title: t.Title, Price: t.Price, UserID: t.UserID}}, nil
}

// Update is PUT /api/tickets/:id for user: 404 when absent, 400 "Cannot
// edit a reserved ticket" when an order holds it, 401 for another user's
// ticket; else the new title and price are saved (OCC) and ticket:updated
// returned.
func Update(ctx context.Context, q store.Querier, id, user, title string, price float64, now time.Time) (Ticket, common.Event, error) {
	t, err := Get(ctx, q, id)
	if err != nil {
		return Ticket{}, common.Event{}, err
	}
	if t == nil {
		return Ticket{}, common.Event{}, common.ErrNotFoundHTTP
	}
	if t.OrderID != "" {
		return Ticket{}, common.Event{}, common.BadRequest("Cannot edit a reserved ticket")
	}
	if t.UserID != user {
		return Ticket{}, common.Event{}, common.ErrNotAuthorized
	}
	t.Title, t.Price = title, price
	if err := save(ctx, q, t, "PUT /api/tickets/:id", now); err != nil {
		return Ticket{}, common.Event{}, err
	}
	return *t, updatedEvent(*t), nil
}

// OnOrderCreated is the order:created listener: the ticket is reserved for
// the order and ticket:updated (with orderId) returned. A ticket it does not
// hold is common.ErrNotFound (redelivered). Fixed createIdempotent: a
// duplicate (the ticket already held by this order) changes nothing. Fixed
// cancelChecksOrderId: an order already seen cancelled reserves nothing
// (L7).
func OnOrderCreated(ctx context.Context, q store.Querier, tg common.Toggles, ev common.OrderCreatedEvent, now time.Time) ([]common.Event, error) {
	if tg.Fixed(common.CancelChecksOrderID) {
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM cancelled_orders WHERE order_id = ?`, ev.ID).Scan(&n); err != nil {
			return nil, fmt.Errorf("cancelled orders: %w", err)
		}
		if n > 0 {
			return nil, nil
		}
	}
	t, err := Get(ctx, q, ev.Ticket.ID)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("%w: ticket %s", common.ErrNotFound, ev.Ticket.ID)
	}
	if tg.Fixed(common.CreateIdempotent) && t.OrderID == ev.ID {
		return nil, nil
	}
	t.OrderID = ev.ID
	if err := save(ctx, q, t, common.SubjectOrderCreated, now); err != nil {
		return nil, err
	}
	return []common.Event{updatedEvent(*t)}, nil
}

// OnOrderCancelled is the order:cancelled listener: the reservation is
// cleared and ticket:updated (without orderId) returned. Faithful: cleared
// whoever holds it (L4). Fixed cancelChecksOrderId: the cancelled order is
// remembered, and only its own reservation is cleared.
func OnOrderCancelled(ctx context.Context, q store.Querier, tg common.Toggles, ev common.OrderCancelledEvent, now time.Time) ([]common.Event, error) {
	fixed := tg.Fixed(common.CancelChecksOrderID)
	if fixed {
		if _, err := q.Exec(ctx, `INSERT INTO cancelled_orders (order_id) VALUES (?) ON CONFLICT DO NOTHING`, ev.ID); err != nil {
			return nil, fmt.Errorf("remember cancelled order: %w", err)
		}
	}
	t, err := Get(ctx, q, ev.Ticket.ID)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("%w: ticket %s", common.ErrNotFound, ev.Ticket.ID)
	}
	if fixed && t.OrderID != ev.ID {
		return nil, nil
	}
	t.OrderID = ""
	if err := save(ctx, q, t, common.SubjectOrderCancelled, now); err != nil {
		return nil, err
	}
	return []common.Event{updatedEvent(*t)}, nil
}
