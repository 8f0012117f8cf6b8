package gateway

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the gateway's schema.
var Migrations = store.EmbeddedMigrations("ticketsale-gateway", migrationFiles, "migrations")

// DeclinedToken is a card token the gateway always declines (Stripe's
// test token of the same name).
const DeclinedToken = "tok_chargeDeclined"

// Knobs are the gateway's fault knobs.
type Knobs struct {
	// LatencyMs delays every charge and refund.
	LatencyMs int `json:"latencyMs"`
	// RefusalRate is the share of charges declined (402 card_declined).
	RefusalRate float64 `json:"refusalRate"`
	// TimeoutChargedRate is the share of charges taken and then answered
	// 504, as a gateway that timed out after charging.
	TimeoutChargedRate float64 `json:"timeoutChargedRate"`
}

// Validate reports knobs out of range.
func (k Knobs) Validate() error {
	var errs []error
	if k.LatencyMs < 0 {
		errs = append(errs, errors.New("latencyMs must not be negative"))
	}
	if k.RefusalRate < 0 || k.RefusalRate > 1 || k.TimeoutChargedRate < 0 || k.TimeoutChargedRate > 1 {
		errs = append(errs, errors.New("rates must be between 0 and 1"))
	}
	return errors.Join(errs...)
}

// Settings keys of the initial knobs.
const (
	SettingLatency            = "latency"              // e.g. 200ms
	SettingRefusalRate        = "refusal-rate"         // 0..1
	SettingTimeoutChargedRate = "timeout-charged-rate" // 0..1
)

// KnobsFromSettings reads the initial knobs.
func KnobsFromSettings(s map[string]string) (Knobs, error) {
	var k Knobs
	var errs []error
	if v, ok := s[SettingLatency]; ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s=%q: %w", SettingLatency, v, err))
		}
		k.LatencyMs = int(d.Milliseconds())
	}
	for key, p := range map[string]*float64{SettingRefusalRate: &k.RefusalRate, SettingTimeoutChargedRate: &k.TimeoutChargedRate} {
		if v, ok := s[key]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("setting %s=%q: %w", key, v, err))
			}
			*p = f
		}
	}
	errs = append(errs, k.Validate())
	return k, errors.Join(errs...)
}

// Charge is one charge (Stripe's charge object, the fields the lab uses).
type Charge struct {
	ID             string `json:"id"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	Source         string `json:"source"`
	OrderID        string `json:"orderId,omitempty"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	TimedOut       bool   `json:"timedOut"`
	Refunded       bool   `json:"refunded"`
	Status         string `json:"status"`
	Created        string `json:"created"`
}

// ChargeRequest is the body of POST /v1/charges.
type ChargeRequest struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Source   string `json:"source"`
	OrderID  string `json:"orderId,omitempty"`
}

// Outcome is what a charge attempt came to.
type Outcome int

// Outcomes of Gateway.Charge.
const (
	Charged         Outcome = iota // a new charge
	Replayed                       // the idempotency key's earlier charge
	Declined                       // refused, nothing taken
	ChargedTimedOut                // taken, but the caller is told it timed out
)

// Gateway is the fake payment gateway's logic over its store.
type Gateway struct {
	db *store.DB

	mu    sync.Mutex
	knobs Knobs
	rnd   *rand.Rand
}

// New returns a gateway over db with knobs, drawing refusals from a
// source seeded by seed.
func New(db *store.DB, knobs Knobs, seed int64) *Gateway {
	return &Gateway{db: db, knobs: knobs, rnd: rand.New(rand.NewPCG(uint64(seed), 0x6761746577617921))}
}

// Knobs returns the current knobs.
func (g *Gateway) Knobs() Knobs {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.knobs
}

// SetKnobs replaces the knobs.
func (g *Gateway) SetKnobs(k Knobs) error {
	if err := k.Validate(); err != nil {
		return err
	}
	g.mu.Lock()
	g.knobs = k
	g.mu.Unlock()
	return nil
}

// draw returns the knobs and one uniform draw in [0,1).
func (g *Gateway) draw() (Knobs, float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.knobs, g.rnd.Float64()
}

func (g *Gateway) wait(ctx context.Context, k Knobs) error {
	if k.LatencyMs <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(k.LatencyMs) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Charge takes a charge. With an idempotency key already used, the earlier
// charge is returned (Replayed) and nothing new is taken, as Stripe does.
// The knobs decide the rest: DeclinedToken or a refusal draw → Declined;
// a timeout draw → the charge is taken and ChargedTimedOut returned.
func (g *Gateway) Charge(ctx context.Context, req ChargeRequest, key string, now time.Time) (Charge, Outcome, error) {
	k, r := g.draw()
	if err := g.wait(ctx, k); err != nil {
		return Charge{}, Declined, err
	}
	if key != "" {
		if c, err := g.byKey(ctx, key); err != nil || c != nil {
			if c == nil {
				return Charge{}, Declined, err
			}
			return *c, Replayed, err
		}
	}
	if req.Source == DeclinedToken || r < k.RefusalRate {
		return Charge{}, Declined, nil
	}
	timedOut := r >= k.RefusalRate && r < k.RefusalRate+k.TimeoutChargedRate
	c := Charge{ID: "ch_" + messaging.NewID(), Amount: req.Amount, Currency: req.Currency, Source: req.Source,
		OrderID: req.OrderID, IdempotencyKey: key, TimedOut: timedOut, Status: "succeeded", Created: now.UTC().Format(time.RFC3339Nano)}
	err := g.db.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO charges (id, amount, currency, source, order_id, idempotency_key, timed_out, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Amount, c.Currency, c.Source, c.OrderID, key, timedOut, c.Created)
		return err
	})
	if err != nil {
		// A concurrent request with the same key won the insert: replay it.
		if key != "" {
			if prev, perr := g.byKey(ctx, key); perr == nil && prev != nil {
				return *prev, Replayed, nil
			}
		}
		return Charge{}, Declined, fmt.Errorf("store charge: %w", err)
	}
	if timedOut {
		return c, ChargedTimedOut, nil
	}
	return c, Charged, nil
}

const chargeCols = `id, amount, currency, source, order_id, idempotency_key, timed_out, refunded, created_at`

func scanCharge(s interface{ Scan(...any) error }) (Charge, error) {
	var c Charge
	err := s.Scan(&c.ID, &c.Amount, &c.Currency, &c.Source, &c.OrderID, &c.IdempotencyKey, &c.TimedOut, &c.Refunded, &c.Created)
	c.Status = "succeeded"
	return c, err
}

func (g *Gateway) byKey(ctx context.Context, key string) (*Charge, error) {
	c, err := scanCharge(g.db.QueryRow(ctx, `SELECT `+chargeCols+` FROM charges WHERE idempotency_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("charge by key: %w", err)
	}
	return &c, nil
}

// Charges lists the charges, all or one order's, oldest first.
func (g *Gateway) Charges(ctx context.Context, orderID string) ([]Charge, error) {
	rows, err := g.db.Query(ctx, `SELECT `+chargeCols+` FROM charges WHERE ? = '' OR order_id = ? ORDER BY rowid`, orderID, orderID)
	if err != nil {
		return nil, fmt.Errorf("list charges: %w", err)
	}
	defer rows.Close()
	out := []Charge{}
	for rows.Next() {
		c, err := scanCharge(rows)
		if err != nil {
			return nil, fmt.Errorf("list charges: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ErrNoCharge is a refund of an unknown charge.
var ErrNoCharge = errors.New("no such charge")

// Refund refunds a charge once; refunding it again is a no-op that returns
// the same refund id.
func (g *Gateway) Refund(ctx context.Context, chargeID string, now time.Time) (string, error) {
	k, _ := g.draw()
	if err := g.wait(ctx, k); err != nil {
		return "", err
	}
	var id string
	err := g.db.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE charges SET refunded = 1 WHERE id = ?`, chargeID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoCharge
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refunds (id, charge_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			"re_"+messaging.NewID(), chargeID, now.UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id FROM refunds WHERE charge_id = ?`, chargeID).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("refund %s: %w", chargeID, err)
	}
	return id, nil
}
