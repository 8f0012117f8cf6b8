package sla

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
)

// Claimer reserves an action for one scheduler before its agent message is
// sent. Several SLA instances share one database and each runs a scheduler
// loop over it; the action's transaction re-checks that the action is still
// due, so its database effects (sla_effects, SLABreached in the outbox)
// happen once anyway, but the agent message is posted before that
// transaction. The claim makes one instance post it.
type Claimer interface {
	// Claim reserves key for this instance; false means another instance
	// holds a live claim on it.
	Claim(ctx context.Context, key string) (bool, error)
}

// Writer runs a write transaction: the service's *store.DB.
type Writer interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx *store.Tx) error) error
}

// DefaultClaimTTL is how long a claim keeps other instances off an action:
// longer than one action takes (the POST /messages timeout is 5 s, the
// transaction waits at most the store's busy timeout, 5 s).
const DefaultClaimTTL = 30 * time.Second

// SQLClaims keeps claims in the table sla_claims (key, holder, until_ms):
// a claim is taken when there is none for the key, when it expired, or when
// it is the holder's own (a retry, or the same instance after a restart).
// Expiry is wall-clock time (both instances run on one host), not the
// service clock, which a clock-skew anomaly may shift per instance.
type SQLClaims struct {
	DB Writer
	// Holder names this instance (its instance id, e.g. "sla-2").
	Holder string
	// TTL of a claim; 0 means DefaultClaimTTL.
	TTL time.Duration
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

var _ Claimer = (*SQLClaims)(nil)

// Validate reports a missing database or holder.
func (c *SQLClaims) Validate() error {
	if c.DB == nil || c.Holder == "" {
		return errors.New("sla claims: DB and Holder are required")
	}
	if c.TTL < 0 {
		return errors.New("sla claims: TTL must not be negative")
	}
	return nil
}

// Claim implements Claimer.
func (c *SQLClaims) Claim(ctx context.Context, key string) (bool, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultClaimTTL
	}
	t := now()
	var got bool
	err := c.DB.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO sla_claims (key, holder, until_ms) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
			WHERE sla_claims.holder = excluded.holder OR sla_claims.until_ms < ?`,
			key, c.Holder, t.Add(ttl).UnixMilli(), t.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		got = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return got, nil
}

// DeleteClaim removes the claim of key; the action's transaction does it,
// since a done action is no longer due and needs no claim.
func (s *SQLStore) DeleteClaim(ctx context.Context, key string) error {
	if _, err := s.Q.Exec(ctx, `DELETE FROM sla_claims WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete claim %s: %w", key, err)
	}
	return nil
}
