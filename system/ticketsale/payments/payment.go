package payments

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

// Migrations are the payments service's schema.
var Migrations = store.EmbeddedMigrations("ticketsale-payments", migrationFiles, "migrations")

// Order is the payments service's replica of an order.
type Order struct {
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Price     float64            `json:"price"`
	Status    common.OrderStatus `json:"status"`
	ExpiresAt string             `json:"expiresAt"`
	Version   int64              `json:"version"`
}

// Payment links an order to its gateway charge.
type Payment struct {
	ID       string `json:"id"`
	OrderID  string `json:"orderId"`
	StripeID string `json:"stripeId"`
}

// GetOrder loads an order replica; nil, nil when absent.
func GetOrder(ctx context.Context, q store.Querier, id string) (*Order, error) {
	var o Order
	err := q.QueryRow(ctx, `SELECT id, user_id, price, status, expires_at, version FROM orders WHERE id = ?`, id).
		Scan(&o.ID, &o.UserID, &o.Price, &o.Status, &o.ExpiresAt, &o.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", id, err)
	}
	return &o, nil
}

// PaymentsOf lists an order's payments, oldest first.
func PaymentsOf(ctx context.Context, q store.Querier, orderID string) ([]Payment, error) {
	rows, err := q.Query(ctx, `SELECT id, order_id, stripe_id FROM payments WHERE order_id = ? ORDER BY rowid`, orderID)
	if err != nil {
		return nil, fmt.Errorf("payments of %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		var p Payment
		if err := rows.Scan(&p.ID, &p.OrderID, &p.StripeID); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// OnOrderCreated is the order:created listener: the replica is inserted
// with the event's version and the ticket's price. Fixed createIdempotent:
// a duplicate changes nothing; faithful: its insert fails forever (L6).
func OnOrderCreated(ctx context.Context, q store.Querier, tg common.Toggles, ev common.OrderCreatedEvent, now time.Time) error {
	query := `INSERT INTO orders (id, user_id, price, status, expires_at, version) VALUES (?, ?, ?, ?, ?, ?)`
	if tg.Fixed(common.CreateIdempotent) {
		query += ` ON CONFLICT DO NOTHING`
	}
	res, err := q.Exec(ctx, query, ev.ID, ev.UserID, ev.Ticket.Price, ev.Status, ev.ExpiresAt, ev.Version)
	if err != nil {
		return fmt.Errorf("insert order replica %s: %w", ev.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	o := Order{ID: ev.ID, UserID: ev.UserID, Price: ev.Ticket.Price, Status: ev.Status, ExpiresAt: ev.ExpiresAt, Version: ev.Version}
	return common.RecordWrite(ctx, q, common.EntityOrderReplica, o.ID, o.Version, o, common.SubjectOrderCreated, now)
}

// apply moves the replica to status at version under the version rule; it
// reports whether the event was applied.
func apply(ctx context.Context, q store.Querier, tg common.Toggles, id string, version int64, status common.OrderStatus, cause string, now time.Time) (bool, error) {
	o, err := GetOrder(ctx, q, id)
	if err != nil {
		return false, err
	}
	if o == nil {
		return false, fmt.Errorf("%w: order %s", common.ErrNotFound, id)
	}
	switch common.DecideVersion(tg.Version, o.Version, version) {
	case common.Skip:
		return false, nil
	case common.Retry:
		return false, common.VersionError("order", id, o.Version, version)
	}
	var res sql.Result
	if tg.Version == common.VersionOff {
		res, err = q.Exec(ctx, `UPDATE orders SET status = ?, version = ? WHERE id = ?`, status, version, id)
	} else {
		res, err = q.Exec(ctx, `UPDATE orders SET status = ?, version = ? WHERE id = ? AND version = ?`, status, version, id, o.Version)
	}
	if err != nil {
		return false, fmt.Errorf("update order replica %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, fmt.Errorf("order replica %s: version moved under the update", id)
	}
	o.Status, o.Version = status, version
	return true, common.RecordWrite(ctx, q, common.EntityOrderReplica, id, version, o, cause, now)
}

// OnOrderCancelled is the order:cancelled listener under the version rule
// (the course's findByEvent). Fixed paymentGuards: every charge of the
// order is queued for a refund (a payment that raced the cancellation, L1).
func OnOrderCancelled(ctx context.Context, q store.Querier, tg common.Toggles, ev common.OrderCancelledEvent, now time.Time) error {
	if _, err := apply(ctx, q, tg, ev.ID, ev.Version, common.OrderCancelled, common.SubjectOrderCancelled, now); err != nil {
		return err
	}
	if tg.IsFaithful(common.PaymentGuards) {
		return nil
	}
	return queueRefunds(ctx, q, ev.ID)
}

func queueRefunds(ctx context.Context, q store.Querier, orderID string) error {
	if _, err := q.Exec(ctx, `INSERT INTO refunds (payment_id, order_id, stripe_id, state)
		SELECT id, order_id, stripe_id, 'pending' FROM payments WHERE order_id = ? ON CONFLICT DO NOTHING`, orderID); err != nil {
		return fmt.Errorf("queue refunds of %s: %w", orderID, err)
	}
	return nil
}

// OnOrderUpdated is the order:updated listener (only the fixed mode
// publishes it): the replica takes the status under the version rule.
func OnOrderUpdated(ctx context.Context, q store.Querier, tg common.Toggles, ev common.OrderUpdatedEvent, now time.Time) error {
	_, err := apply(ctx, q, tg, ev.ID, ev.Version, ev.Status, common.SubjectOrderUpdated, now)
	return err
}

// CheckPayable applies the payment guards to user paying o at now: 404,
// 401, 400 "Cannot pay for an cancelled order" (the course's checks).
// Fixed paymentGuards adds 400 "Order already paid" (complete, or a
// payment on record) and 400 "Order has expired" (past expiresAt).
func CheckPayable(ctx context.Context, q store.Querier, tg common.Toggles, o *Order, user string, now time.Time) error {
	if o == nil {
		return common.ErrNotFoundHTTP
	}
	if o.UserID != user {
		return common.ErrNotAuthorized
	}
	if o.Status == common.OrderCancelled {
		return common.BadRequest("Cannot pay for an cancelled order")
	}
	if tg.IsFaithful(common.PaymentGuards) {
		return nil
	}
	if o.Status == common.OrderComplete {
		return common.BadRequest("Order already paid")
	}
	if exp, err := common.ParseTime(o.ExpiresAt); err == nil && now.After(exp) {
		return common.BadRequest("Order has expired")
	}
	ps, err := PaymentsOf(ctx, q, o.ID)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return common.BadRequest("Order already paid")
	}
	return nil
}

// Record saves the payment of a charge and returns its payment:created
// event. Fixed paymentGuards: an order that already has a payment keeps it
// (the same charge replayed under the idempotency key, or a concurrent
// attempt), and nothing is published; the earlier payment is returned.
func Record(ctx context.Context, q store.Querier, tg common.Toggles, p Payment, now time.Time) (Payment, []common.Event, error) {
	if tg.Fixed(common.PaymentGuards) {
		ps, err := PaymentsOf(ctx, q, p.OrderID)
		if err != nil {
			return Payment{}, nil, err
		}
		if len(ps) > 0 {
			return ps[0], nil, nil
		}
	}
	if _, err := q.Exec(ctx, `INSERT INTO payments (id, order_id, stripe_id, created_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.OrderID, p.StripeID, now.UTC().Format(time.RFC3339Nano)); err != nil {
		return Payment{}, nil, fmt.Errorf("insert payment: %w", err)
	}
	if tg.Fixed(common.PaymentGuards) {
		// The cancellation may have been applied while the gateway charged.
		if o, err := GetOrder(ctx, q, p.OrderID); err == nil && o != nil && o.Status == common.OrderCancelled {
			if err := queueRefunds(ctx, q, p.OrderID); err != nil {
				return Payment{}, nil, err
			}
		}
	}
	return p, []common.Event{{Subject: common.SubjectPaymentCreated, AggregateID: p.OrderID,
		Payload: common.PaymentCreated{ID: p.ID, OrderID: p.OrderID, StripeID: p.StripeID}}}, nil
}

// PendingRefund is a refund the loop still owes.
type PendingRefund struct {
	PaymentID, OrderID, StripeID string
}

// PendingRefunds lists refunds not yet done.
func PendingRefunds(ctx context.Context, q store.Querier) ([]PendingRefund, error) {
	rows, err := q.Query(ctx, `SELECT payment_id, order_id, stripe_id FROM refunds WHERE state = 'pending' ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("pending refunds: %w", err)
	}
	defer rows.Close()
	var out []PendingRefund
	for rows.Next() {
		var r PendingRefund
		if err := rows.Scan(&r.PaymentID, &r.OrderID, &r.StripeID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RefundDone marks a refund done.
func RefundDone(ctx context.Context, q store.Querier, paymentID, refundID string) error {
	_, err := q.Exec(ctx, `UPDATE refunds SET state = 'done', refund_id = ? WHERE payment_id = ?`, refundID, paymentID)
	return err
}
