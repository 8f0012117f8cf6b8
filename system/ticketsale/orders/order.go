package orders

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

// Migrations are the orders service's schema.
var Migrations = store.EmbeddedMigrations("ticketsale-orders", migrationFiles, "migrations")

// Ticket is the orders service's replica of a ticket.
type Ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	Version int64   `json:"version"`
}

// Order is the order master. ExpiresAt is RFC 3339 UTC.
type Order struct {
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Status    common.OrderStatus `json:"status"`
	ExpiresAt string             `json:"expiresAt"`
	Ticket    Ticket             `json:"ticket"`
	Version   int64              `json:"version"`
}

// ErrConflict is a lost optimistic-concurrency update.
var ErrConflict = errors.New("version conflict")

// GetTicket loads a ticket replica; nil, nil when absent.
func GetTicket(ctx context.Context, q store.Querier, id string) (*Ticket, error) {
	var t Ticket
	err := q.QueryRow(ctx, `SELECT id, title, price, version FROM tickets WHERE id = ?`, id).Scan(&t.ID, &t.Title, &t.Price, &t.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket %s: %w", id, err)
	}
	return &t, nil
}

const orderCols = `o.id, o.user_id, o.status, o.expires_at, o.version, t.id, t.title, t.price, t.version`

func scanOrder(s interface{ Scan(...any) error }) (Order, error) {
	var o Order
	err := s.Scan(&o.ID, &o.UserID, &o.Status, &o.ExpiresAt, &o.Version, &o.Ticket.ID, &o.Ticket.Title, &o.Ticket.Price, &o.Ticket.Version)
	return o, err
}

// Get loads an order with its ticket; nil, nil when absent.
func Get(ctx context.Context, q store.Querier, id string) (*Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, `SELECT `+orderCols+` FROM orders o JOIN tickets t ON t.id = o.ticket_id WHERE o.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", id, err)
	}
	return &o, nil
}

// ListByUser returns a user's orders, oldest first.
func ListByUser(ctx context.Context, q store.Querier, user string) ([]Order, error) {
	rows, err := q.Query(ctx, `SELECT `+orderCols+` FROM orders o JOIN tickets t ON t.id = o.ticket_id WHERE o.user_id = ? ORDER BY o.rowid`, user)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("list orders: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Reserved is the course's ticket.isReserved(): an order in an active
// status holds the ticket.
func Reserved(ctx context.Context, q store.Querier, ticketID string) (bool, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE ticket_id = ? AND status IN (?, ?, ?)`,
		ticketID, common.OrderCreated, common.OrderAwaitingPayment, common.OrderComplete).Scan(&n); err != nil {
		return false, fmt.Errorf("is reserved %s: %w", ticketID, err)
	}
	return n > 0, nil
}

// OnTicketCreated is the ticket:created listener: the replica is inserted
// at the event's version. Fixed createIdempotent: a duplicate changes
// nothing; faithful: its insert fails, so it is redelivered forever (L6).
func OnTicketCreated(ctx context.Context, q store.Querier, tg common.Toggles, ev common.TicketCreated, now time.Time) error {
	query := `INSERT INTO tickets (id, title, price, version) VALUES (?, ?, ?, ?)`
	if tg.Fixed(common.CreateIdempotent) {
		query += ` ON CONFLICT DO NOTHING`
	}
	res, err := q.Exec(ctx, query, ev.ID, ev.Title, ev.Price, ev.Version)
	if err != nil {
		return fmt.Errorf("insert ticket replica %s: %w", ev.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	t := Ticket{ID: ev.ID, Title: ev.Title, Price: ev.Price, Version: ev.Version}
	return common.RecordWrite(ctx, q, common.EntityTicketReplica, t.ID, t.Version, t, common.SubjectTicketCreated, now)
}

// OnTicketUpdated is the ticket:updated listener under the version rule
// (common.DecideVersion): applied updates set title, price and the event's
// version. A replica it does not hold is common.ErrNotFound (redelivered).
func OnTicketUpdated(ctx context.Context, q store.Querier, tg common.Toggles, ev common.TicketUpdated, now time.Time) error {
	t, err := GetTicket(ctx, q, ev.ID)
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("%w: ticket %s", common.ErrNotFound, ev.ID)
	}
	switch common.DecideVersion(tg.Version, t.Version, ev.Version) {
	case common.Skip:
		return nil
	case common.Retry:
		return common.VersionError("ticket", ev.ID, t.Version, ev.Version)
	}
	var res sql.Result
	if tg.Version == common.VersionOff {
		res, err = q.Exec(ctx, `UPDATE tickets SET title = ?, price = ?, version = ? WHERE id = ?`, ev.Title, ev.Price, ev.Version, ev.ID)
	} else {
		res, err = q.Exec(ctx, `UPDATE tickets SET title = ?, price = ?, version = ? WHERE id = ? AND version = ?`,
			ev.Title, ev.Price, ev.Version, ev.ID, t.Version)
	}
	if err != nil {
		return fmt.Errorf("update ticket replica %s: %w", ev.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: ticket replica %s", ErrConflict, ev.ID)
	}
	t.Title, t.Price, t.Version = ev.Title, ev.Price, ev.Version
	return common.RecordWrite(ctx, q, common.EntityTicketReplica, t.ID, t.Version, t, common.SubjectTicketUpdated, now)
}

// Place stores a new order for the ticket (status created, version 0) and
// returns its order:created event: 404 when the ticket replica is absent.
// Fixed reserveAtomic: the insert itself checks that no active order holds
// the ticket (400 "Ticket is already reserved"); faithful: it inserts
// blindly, the caller having checked Reserved before (L11's window).
func Place(ctx context.Context, q store.Querier, tg common.Toggles, o Order, now time.Time) (Order, common.Event, error) {
	t, err := GetTicket(ctx, q, o.Ticket.ID)
	if err != nil {
		return Order{}, common.Event{}, err
	}
	if t == nil {
		return Order{}, common.Event{}, common.ErrNotFoundHTTP
	}
	o.Ticket, o.Status, o.Version = *t, common.OrderCreated, 0
	var res sql.Result
	if tg.Fixed(common.ReserveAtomic) {
		res, err = q.Exec(ctx, `INSERT INTO orders (id, user_id, status, expires_at, ticket_id, version)
			SELECT ?, ?, ?, ?, ?, 0 WHERE NOT EXISTS (SELECT 1 FROM orders WHERE ticket_id = ? AND status IN (?, ?, ?))`,
			o.ID, o.UserID, o.Status, o.ExpiresAt, t.ID, t.ID, common.OrderCreated, common.OrderAwaitingPayment, common.OrderComplete)
	} else {
		res, err = q.Exec(ctx, `INSERT INTO orders (id, user_id, status, expires_at, ticket_id, version) VALUES (?, ?, ?, ?, ?, 0)`,
			o.ID, o.UserID, o.Status, o.ExpiresAt, t.ID)
	}
	if err != nil {
		return Order{}, common.Event{}, fmt.Errorf("insert order: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Order{}, common.Event{}, common.BadRequest("Ticket is already reserved")
	}
	if err := common.RecordWrite(ctx, q, common.EntityOrder, o.ID, 0, o, "POST /api/orders", now); err != nil {
		return Order{}, common.Event{}, err
	}
	return o, common.Event{Subject: common.SubjectOrderCreated, AggregateID: o.ID, Version: 0,
		Payload: common.OrderCreatedEvent{ID: o.ID, Version: 0, Status: o.Status, UserID: o.UserID, ExpiresAt: o.ExpiresAt,
			Ticket: common.TicketRef{ID: t.ID, Price: t.Price}}}, nil
}

// setStatus saves o with status s over its read version (OCC) and bumps it.
func setStatus(ctx context.Context, q store.Querier, o *Order, s common.OrderStatus, cause string, now time.Time) error {
	res, err := q.Exec(ctx, `UPDATE orders SET status = ?, version = version + 1 WHERE id = ? AND version = ?`, s, o.ID, o.Version)
	if err != nil {
		return fmt.Errorf("save order %s: %w", o.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: order %s at version %d", ErrConflict, o.ID, o.Version)
	}
	o.Status, o.Version = s, o.Version+1
	return common.RecordWrite(ctx, q, common.EntityOrder, o.ID, o.Version, o, cause, now)
}

func cancelledEvent(o Order) common.Event {
	return common.Event{Subject: common.SubjectOrderCancelled, AggregateID: o.ID, Version: o.Version,
		Payload: common.OrderCancelledEvent{ID: o.ID, Version: o.Version, Ticket: common.TicketRef{ID: o.Ticket.ID}}}
}

// Cancel is DELETE /api/orders/:id by user: 404 when absent, 401 for
// another user's order; the order is cancelled and order:cancelled
// returned. Fixed deleteGuards: a complete order is refused (400 "Cannot
// cancel a completed order") and an already cancelled one changes nothing
// (no event); faithful cancels in any status (L3).
func Cancel(ctx context.Context, q store.Querier, tg common.Toggles, id, user string, now time.Time) (*Order, []common.Event, error) {
	o, err := Get(ctx, q, id)
	if err != nil {
		return nil, nil, err
	}
	if o == nil {
		return nil, nil, common.ErrNotFoundHTTP
	}
	if o.UserID != user {
		return nil, nil, common.ErrNotAuthorized
	}
	if tg.Fixed(common.DeleteGuards) {
		switch o.Status {
		case common.OrderComplete:
			return nil, nil, common.BadRequest("Cannot cancel a completed order")
		case common.OrderCancelled:
			return o, nil, nil
		}
	}
	if err := setStatus(ctx, q, o, common.OrderCancelled, "DELETE /api/orders/:id", now); err != nil {
		return nil, nil, err
	}
	return o, []common.Event{cancelledEvent(*o)}, nil
}

// OnExpirationComplete is the expiration:complete listener: a complete
// order stays; otherwise it is cancelled and order:cancelled returned.
// Fixed expirationChecksStatus: a cancelled order stays too (faithful
// cancels it again and publishes again, L4/L5).
func OnExpirationComplete(ctx context.Context, q store.Querier, tg common.Toggles, ev common.ExpirationComplete, now time.Time) ([]common.Event, error) {
	o, err := Get(ctx, q, ev.OrderID)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("%w: order %s", common.ErrNotFound, ev.OrderID)
	}
	if o.Status == common.OrderComplete || o.Status == common.OrderCancelled && tg.Fixed(common.ExpirationChecksStatus) {
		return nil, nil
	}
	if err := setStatus(ctx, q, o, common.OrderCancelled, common.SubjectExpirationComplete, now); err != nil {
		return nil, err
	}
	return []common.Event{cancelledEvent(*o)}, nil
}

// OnPaymentCreated is the payment:created listener: the order becomes
// complete. Faithful: unconditionally, no event (a cancelled order too, L1;
// the payments replica never learns it, L12). Fixed paymentGuards: a
// complete or cancelled order stays (payments refunds the charge of a
// cancelled one), and completion is published as order:updated.
func OnPaymentCreated(ctx context.Context, q store.Querier, tg common.Toggles, ev common.PaymentCreated, now time.Time) ([]common.Event, error) {
	o, err := Get(ctx, q, ev.OrderID)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("%w: order %s", common.ErrNotFound, ev.OrderID)
	}
	fixed := tg.Fixed(common.PaymentGuards)
	if fixed && (o.Status == common.OrderComplete || o.Status == common.OrderCancelled) {
		return nil, nil
	}
	if err := setStatus(ctx, q, o, common.OrderComplete, common.SubjectPaymentCreated, now); err != nil {
		return nil, err
	}
	if !fixed {
		return nil, nil
	}
	return []common.Event{{Subject: common.SubjectOrderUpdated, AggregateID: o.ID, Version: o.Version,
		Payload: common.OrderUpdatedEvent{ID: o.ID, Version: o.Version, Status: o.Status}}}, nil
}
