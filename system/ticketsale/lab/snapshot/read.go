package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Read reads every database into a snapshot. A database that does not
// exist, or lacks a table, contributes nothing; errors of the others are
// joined and what could be read is returned.
func Read(ctx context.Context, dbs []sut.DB) (Snapshot, error) {
	s := Snapshot{}
	var errs []error
	for _, d := range dbs {
		db, err := sut.OpenReadOnly(d.Path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s: %w", d.Instance, err))
			continue
		}
		r := reader{db: db, store: Store{Service: d.Service, Instance: d.Instance}, snap: &s}
		if err := r.read(ctx); err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s: %w", d.Instance, err))
		}
		db.Close()
		s.Stores = append(s.Stores, r.store)
	}
	s.sort()
	return s, errors.Join(errs...)
}

func (s *Snapshot) sort() {
	slices.SortStableFunc(s.Tickets, func(a, b Ticket) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.TicketReplicas, func(a, b TicketReplica) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Store, b.Store), cmp.Compare(a.Instance, b.Instance))
	})
	slices.SortStableFunc(s.Orders, func(a, b Order) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.OrderReplicas, func(a, b OrderReplica) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Store, b.Store), cmp.Compare(a.Instance, b.Instance))
	})
	slices.SortStableFunc(s.Payments, func(a, b Payment) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.PaymentRefunds, func(a, b PaymentRefund) int { return cmp.Compare(a.PaymentID, b.PaymentID) })
	slices.SortStableFunc(s.Jobs, func(a, b Job) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.Charges, func(a, b Charge) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(s.Writes, func(a, b Write) int {
		return cmp.Or(cmp.Compare(a.Store, b.Store), cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Seq, b.Seq))
	})
	slices.Sort(s.TicketsSawCancelled)
}

type reader struct {
	db    *sql.DB
	store Store
	snap  *Snapshot
}

// table is one table a service's store may hold and how it is read.
type table struct {
	name string
	read func(context.Context, *reader) error
}

// tables lists what each service's store holds (the services' migrations).
var tables = map[string][]table{
	common.ServiceTickets:    {{"tickets", readTickets}, {"cancelled_orders", readSawCancelled}, {"writes", readWrites}},
	common.ServiceOrders:     {{"tickets", readTicketReplicas}, {"orders", readOrders}, {"writes", readWrites}},
	common.ServicePayments:   {{"orders", readOrderReplicas}, {"payments", readPayments}, {"refunds", readPaymentRefunds}, {"writes", readWrites}},
	common.ServiceExpiration: {{"jobs", readJobs}},
	common.ServiceGateway:    {{"charges", readCharges}},
	common.ServiceAuth:       {{"users", readUsers}},
}

func (r *reader) read(ctx context.Context) error {
	for _, t := range tables[r.store.Service] {
		ok, err := sut.HasTable(ctx, r.db, t.name)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		if !ok {
			continue
		}
		if err := t.read(ctx, r); err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return nil
}

// each runs query and calls scan for every row.
func (r *reader) each(ctx context.Context, query string, scan func(*sql.Rows) error) error {
	rows, err := r.db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// parseTime reads the services' RFC 3339 text ("" = zero) as UTC.
func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", what, s, err)
	}
	return t.UTC(), nil
}

func readTickets(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT id, title, price, user_id, order_id, version FROM tickets`, func(rows *sql.Rows) error {
		var t Ticket
		if err := rows.Scan(&t.ID, &t.Title, &t.Price, &t.UserID, &t.OrderID, &t.Version); err != nil {
			return err
		}
		r.snap.Tickets = append(r.snap.Tickets, t)
		return nil
	})
}

func readSawCancelled(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT order_id FROM cancelled_orders`, func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		r.snap.TicketsSawCancelled = append(r.snap.TicketsSawCancelled, id)
		return nil
	})
}

func readTicketReplicas(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT id, title, price, version FROM tickets`, func(rows *sql.Rows) error {
		t := TicketReplica{Store: r.store.Service, Instance: r.store.Instance}
		if err := rows.Scan(&t.ID, &t.Title, &t.Price, &t.Version); err != nil {
			return err
		}
		r.snap.TicketReplicas = append(r.snap.TicketReplicas, t)
		return nil
	})
}

func readOrders(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT id, user_id, status, expires_at, ticket_id, version FROM orders`, func(rows *sql.Rows) error {
		var o Order
		var exp string
		if err := rows.Scan(&o.ID, &o.UserID, &o.Status, &exp, &o.TicketID, &o.Version); err != nil {
			return err
		}
		var err error
		if o.ExpiresAt, err = parseTime("order "+o.ID+" expiresAt", exp); err != nil {
			return err
		}
		r.snap.Orders = append(r.snap.Orders, o)
		return nil
	})
}

func readOrderReplicas(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT id, user_id, price, status, expires_at, version FROM orders`, func(rows *sql.Rows) error {
		o := OrderReplica{Store: r.store.Service, Instance: r.store.Instance}
		var exp string
		if err := rows.Scan(&o.ID, &o.UserID, &o.Price, &o.Status, &exp, &o.Version); err != nil {
			return err
		}
		var err error
		if o.ExpiresAt, err = parseTime("order replica "+o.ID+" expiresAt", exp); err != nil {
			return err
		}
		r.snap.OrderReplicas = append(r.snap.OrderReplicas, o)
		return nil
	})
}

func readPayments(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT id, order_id, stripe_id, created_at FROM payments`, func(rows *sql.Rows) error {
		var p Payment
		var at string
		if err := rows.Scan(&p.ID, &p.OrderID, &p.StripeID, &at); err != nil {
			return err
		}
		var err error
		if p.CreatedAt, err = parseTime("payment "+p.ID+" createdAt", at); err != nil {
			return err
		}
		r.snap.Payments = append(r.snap.Payments, p)
		return nil
	})
}

func readPaymentRefunds(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT payment_id, order_id, stripe_id, state, refund_id FROM refunds`, func(rows *sql.Rows) error {
		var p PaymentRefund
		if err := rows.Scan(&p.PaymentID, &p.OrderID, &p.StripeID, &p.State, &p.RefundID); err != nil {
			return err
		}
		r.snap.PaymentRefunds = append(r.snap.PaymentRefunds, p)
		return nil
	})
}

func readJobs(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT id, order_id, due_ms, state, created_at, done_at FROM jobs`, func(rows *sql.Rows) error {
		var j Job
		var due int64
		var created, done string
		if err := rows.Scan(&j.ID, &j.OrderID, &due, &j.State, &created, &done); err != nil {
			return err
		}
		j.Due = time.UnixMilli(due).UTC()
		var err error
		if j.CreatedAt, err = parseTime("job "+j.ID+" createdAt", created); err != nil {
			return err
		}
		if j.DoneAt, err = parseTime("job "+j.ID+" doneAt", done); err != nil {
			return err
		}
		r.snap.Jobs = append(r.snap.Jobs, j)
		return nil
	})
}

func readCharges(ctx context.Context, r *reader) error {
	refunds, err := sut.HasTable(ctx, r.db, "refunds")
	if err != nil {
		return err
	}
	query := `SELECT c.id, c.amount, c.currency, c.source, c.order_id, c.idempotency_key, c.timed_out, c.refunded, c.created_at, '' FROM charges c`
	if refunds {
		query = `SELECT c.id, c.amount, c.currency, c.source, c.order_id, c.idempotency_key, c.timed_out, c.refunded, c.created_at,
			COALESCE(r.id, '') FROM charges c LEFT JOIN refunds r ON r.charge_id = c.id`
	}
	return r.each(ctx, query, func(rows *sql.Rows) error {
		var c Charge
		var at string
		if err := rows.Scan(&c.ID, &c.Amount, &c.Currency, &c.Source, &c.OrderID, &c.IdempotencyKey, &c.TimedOut, &c.Refunded, &at, &c.RefundID); err != nil {
			return err
		}
		var err error
		if c.CreatedAt, err = parseTime("charge "+c.ID+" createdAt", at); err != nil {
			return err
		}
		r.snap.Charges = append(r.snap.Charges, c)
		return nil
	})
}

func readWrites(ctx context.Context, r *reader) error {
	return r.each(ctx, `SELECT seq, entity, id, version, data, cause, at FROM writes`, func(rows *sql.Rows) error {
		w := Write{Store: r.store.Service, Instance: r.store.Instance}
		var data, at string
		if err := rows.Scan(&w.Seq, &w.Entity, &w.ID, &w.Version, &data, &w.Cause, &at); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(data)); err != nil {
			return fmt.Errorf("write %d of %s %s: data: %w", w.Seq, w.Entity, w.ID, err)
		}
		w.Data = json.RawMessage(buf.Bytes())
		var err error
		if w.At, err = parseTime(fmt.Sprintf("write %d at", w.Seq), at); err != nil {
			return err
		}
		r.snap.Writes = append(r.snap.Writes, w)
		return nil
	})
}

func readUsers(ctx context.Context, r *reader) error {
	var n int
	if err := r.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return err
	}
	r.snap.Users += n
	return nil
}
