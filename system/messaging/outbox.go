package messaging

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// OutboxConfig tunes the relay.
type OutboxConfig struct {
	// PollInterval is how often the relay looks for unsent rows even when
	// no commit woke it (rows left by a crash, failed publishes). Default 1 s.
	PollInterval time.Duration
	// BatchSize is how many rows one relay round publishes (confirms are
	// pipelined within a round). Default 256.
	BatchSize int
	// Lease is how long the relay's lease on the database's outbox lasts
	// without renewal (see relay). Only the holder relays; another relay on
	// the same database takes over at most Lease after the holder stopped
	// renewing (crashed, killed, paused), at once after a clean stop.
	// Default 5 s, at least 3 × PollInterval.
	Lease time.Duration
}

func (c *OutboxConfig) setDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 256
	}
	if c.Lease == 0 {
		c.Lease = max(5*time.Second, 3*c.PollInterval)
	}
}

// Validate reports what is wrong with the config.
func (c OutboxConfig) Validate() error {
	if c.PollInterval < 0 || c.BatchSize < 0 || c.Lease < 0 {
		return errors.New("outbox poll interval, batch size and lease must not be negative")
	}
	if c.Lease > 0 && c.Lease < 2*c.PollInterval {
		return fmt.Errorf("outbox lease %s must be at least twice the poll interval %s, or the holder cannot renew it in time", c.Lease, c.PollInterval)
	}
	return nil
}

// outboxInsert writes m into the outbox inside tx, with the trace context of
// ctx (the handling span) in its headers so the relay's publish span
// continues the same trace.
func outboxInsert(ctx context.Context, tx *store.Tx, r Route, m Message) error {
	h := map[string]string{}
	for k, v := range m.Headers {
		h[k] = v
	}
	for k, v := range otelamqp.Inject(ctx, nil) {
		if s, ok := v.(string); ok {
			h[k] = s
		}
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("outbox headers: %w", err)
	}
	ts := m.Timestamp
	if ts.IsZero() {
		ts = time.Now().UTC()
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (message_id, exchange, routing_key, type, correlation_id, causation_id,
		aggregate_id, aggregate_version, partition_key, headers, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, r.Exchange, r.Key, m.Type, m.CorrelationID, m.CausationID, m.AggregateID, m.AggregateVersion,
		m.PartitionKey, string(hj), m.Body, ts.Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("outbox insert %s: %w", m.ID, err)
	}
	return nil
}

// relay publishes outbox rows oldest first and marks them sent. One relay
// per database publishes: several processes may share a database (instances
// of one service), each with its own bus and relay, and two relays reading
// the same unsent rows would both publish them. So a relay relays only while
// it holds the database's lease (table outbox_relay: one row with the
// holder and its expiry in wall-clock unix ms). It takes the lease when it
// is free, expired or already its own, renews it once half of it has passed,
// and gives it up after its final round. A relay without the lease does
// nothing; the holder relays every process's rows at its next wake or poll.
// Holders are named service/instance, so a restarted instance takes its own
// lease back at once.
//
// So no row is published twice except as a deliberate republish (at least
// once: a crash between the confirm and the mark republishes the row with
// the same message_id), or when a holder stalls past its lease in the middle
// of a round (a paused process) while another relay took over.
type relay struct {
	db     *store.DB
	pub    *Publisher
	cfg    OutboxConfig
	stats  *Stats
	log    *slog.Logger
	holder string
	wake   chan struct{}
	// after is the relay's cursor: every row with id <= after is known sent,
	// so a round scans forward from it instead of over the whole table.
	after int64
	// leaseUntil is when this relay's lease ends (zero: not held).
	leaseUntil time.Time
	// afterPublish is Hooks.AfterRelayPublish (nil: none).
	afterPublish func(ctx context.Context, m Message) error
}

func newRelay(db *store.DB, pub *Publisher, cfg OutboxConfig, stats *Stats, log *slog.Logger, holder string) *relay {
	return &relay{db: db, pub: pub, cfg: cfg, stats: stats, log: log.With("component", "outbox-relay"), holder: holder,
		wake: make(chan struct{}, 1)}
}

// lease reports whether this relay holds the outbox lease now, taking or
// renewing it when due (a write, at most about twice per Lease).
func (r *relay) lease(ctx context.Context) (bool, error) {
	now := time.Now()
	if now.Before(r.leaseUntil.Add(-r.cfg.Lease / 2)) {
		return true, nil
	}
	// Read first: a relay without the lease polls, and a write per poll
	// would take the database's write lock for nothing.
	var holder string
	var untilMS int64
	err := r.db.QueryRow(ctx, `SELECT holder, until_ms FROM outbox_relay WHERE id = 1`).Scan(&holder, &untilMS)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, fmt.Errorf("outbox lease: %w", err)
	case holder != r.holder && untilMS >= now.UnixMilli():
		r.lost()
		return false, nil
	}
	until := now.Add(r.cfg.Lease)
	var got bool
	err = r.db.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO outbox_relay (id, holder, until_ms) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
			WHERE outbox_relay.holder = excluded.holder OR outbox_relay.until_ms < ?`,
			r.holder, until.UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		got = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("outbox lease: %w", err)
	}
	if !got {
		r.lost()
		return false, nil
	}
	if r.leaseUntil.IsZero() {
		r.log.Info("Outbox lease taken: this relay publishes the database's outbox", "holder", r.holder)
	}
	r.leaseUntil = until
	return true, nil
}

// lost forgets the lease after another relay was found holding it.
func (r *relay) lost() {
	if !r.leaseUntil.IsZero() {
		r.log.Warn("Outbox lease held by another relay; this one stands by", "holder", r.holder)
	}
	r.leaseUntil = time.Time{}
}

// release gives the lease up (after the final round), so another relay on
// the database takes over at its next poll instead of after the expiry.
func (r *relay) release(ctx context.Context) {
	if r.leaseUntil.IsZero() {
		return
	}
	r.leaseUntil = time.Time{}
	if err := r.db.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE outbox_relay SET until_ms = 0 WHERE id = 1 AND holder = ?`, r.holder)
		return err
	}); err != nil {
		r.log.Warn("Releasing the outbox lease failed; it expires by itself", "err", err)
	}
}

// Wake asks the relay to look for rows now (called after each commit that
// wrote to the outbox). It never blocks.
func (r *relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run relays until ctx ends, then makes one last round bounded by final
// (rows it cannot publish stay for the next start).
func (r *relay) run(ctx context.Context, final time.Duration) {
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), final)
		defer cancel()
		if _, err := r.round(fctx); err != nil {
			r.log.Warn("Final outbox round incomplete; rows stay for the next start", "err", err)
		}
		r.release(fctx)
	}()
	tick := time.NewTicker(r.cfg.PollInterval)
	defer tick.Stop()
	for {
		for {
			n, err := r.round(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("Outbox relay round failed", "err", err)
				}
				break
			}
			if n < r.cfg.BatchSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

type outboxRow struct {
	id  int64
	msg Message
	rt  Route
	hdr map[string]string
}

// round publishes up to BatchSize unsent rows and returns how many it read
// (0 when another relay holds the lease).
func (r *relay) round(ctx context.Context) (int, error) {
	if held, err := r.lease(ctx); err != nil || !held {
		return 0, err
	}
	// Ids only grow and writers are serialized, so every row with an id up
	// to this maximum has committed (or never will): past it the cursor may
	// safely jump.
	var maxID int64
	if err := r.db.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM outbox`).Scan(&maxID); err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	rows, err := r.db.Query(ctx, `SELECT id, message_id, exchange, routing_key, type, correlation_id, causation_id,
		aggregate_id, aggregate_version, partition_key, headers, body, created_at
		FROM outbox WHERE id > ? AND id <= ? AND sent_at IS NULL ORDER BY id LIMIT ?`, r.after, maxID, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	var batch []outboxRow
	for rows.Next() {
		var o outboxRow
		var hj, created string
		if err := rows.Scan(&o.id, &o.msg.ID, &o.rt.Exchange, &o.rt.Key, &o.msg.Type, &o.msg.CorrelationID, &o.msg.CausationID,
			&o.msg.AggregateID, &o.msg.AggregateVersion, &o.msg.PartitionKey, &hj, &o.msg.Body, &created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("scan outbox: %w", err)
		}
		if err := json.Unmarshal([]byte(hj), &o.hdr); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox row %d headers: %w", o.id, err)
		}
		o.msg.Timestamp, _ = time.Parse(time.RFC3339Nano, created)
		batch = append(batch, o)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(batch) == 0 {
		r.after = maxID
		return 0, nil
	}
	items := make([]outgoing, len(batch))
	for i, o := range batch {
		// The row's headers carry the writer's trace context: the publish
		// span becomes a child of the handling that wrote the row.
		tbl := amqp.Table{}
		for k, v := range o.hdr {
			tbl[k] = v
		}
		pctx := otelamqp.Extract(ctx, tbl)
		m := o.msg
		m.Headers = map[string]string{}
		for k, v := range o.hdr {
			if k != "traceparent" && k != "tracestate" && k != "baggage" {
				m.Headers[k] = v
			}
		}
		if len(m.Headers) == 0 {
			m.Headers = nil
		}
		items[i] = outgoing{ctx: pctx, route: o.rt, msg: m, via: otelamqp.ViaOutbox}
	}
	errs := r.pub.publish(ctx, items)
	if r.afterPublish != nil {
		for i, err := range errs {
			if err == nil {
				if herr := r.afterPublish(items[i].ctx, items[i].msg); herr != nil {
					errs[i] = fmt.Errorf("after publish: %w", herr)
				}
			}
		}
	}
	var sent []any
	var failed []error
	for i, err := range errs {
		if err == nil {
			sent = append(sent, batch[i].id)
		} else {
			failed = append(failed, fmt.Errorf("row %d (%s): %w", batch[i].id, batch[i].msg.ID, err))
		}
	}
	// Mark even when ctx ended: what the broker confirmed must not be sent again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.db.InTx(mctx, func(ctx context.Context, tx *store.Tx) error {
		if len(sent) > 0 {
			q := `UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id IN (?` + strings.Repeat(",?", len(sent)-1) + `)`
			if _, err := tx.Exec(ctx, q, append([]any{now()}, sent...)...); err != nil {
				return err
			}
		}
		for i, err := range errs {
			if err != nil {
				if _, e := tx.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?`, err.Error(), batch[i].id); e != nil {
					return e
				}
			}
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("mark outbox rows: %w", err)
	}
	r.stats.RelayPublished.Add(int64(len(sent)))
	// Advance the cursor up to (not past) the first row still unsent.
	allSent := true
	for i, err := range errs {
		if err != nil {
			allSent = false
			break
		}
		r.after = batch[i].id
	}
	if allSent && len(batch) < r.cfg.BatchSize {
		r.after = maxID
	}
	if len(failed) > 0 {
		return len(batch), errors.Join(failed...)
	}
	return len(batch), nil
}
