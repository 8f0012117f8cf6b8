package messaging

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
)

// openShared opens n handles on one database file, as n processes sharing
// it would, with the messaging schema applied.
func openShared(t *testing.T, n int) []*store.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	var dbs []*store.DB
	for range n {
		db, err := store.Open(t.Context(), store.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := db.Migrate(t.Context(), Migrations); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	return dbs
}

func testRelay(db *store.DB, holder string, lease time.Duration) *relay {
	cfg := OutboxConfig{PollInterval: lease / 4, Lease: lease}
	cfg.setDefaults()
	return newRelay(db, nil, cfg, &Stats{}, slog.New(slog.DiscardHandler), holder)
}

// TestRelayLeaseHasOneHolder: of two relays on one database only one holds
// the lease; the holder keeps it across renewals, hands it over at once when
// it releases it, and a lease left by a holder that died is taken over once
// it expired, not before.
func TestRelayLeaseHasOneHolder(t *testing.T) {
	ctx := t.Context()
	dbs := openShared(t, 2)
	const lease = 5 * time.Second
	a, b := testRelay(dbs[0], "svc/svc", lease), testRelay(dbs[1], "svc/svc-2", lease)
	held := func(r *relay) bool {
		t.Helper()
		ok, err := r.lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !held(a) || held(b) {
		t.Fatal("want a to take the free lease and b to be refused")
	}
	until := func() int64 {
		t.Helper()
		var ms int64
		if err := dbs[1].QueryRow(ctx, `SELECT until_ms FROM outbox_relay WHERE id = 1`).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	// Make a's renewal due now (as if half the lease had passed): a renews
	// its own lease in the table and keeps it; b stays refused.
	before := until()
	a.leaseUntil = time.Now()
	if !held(a) {
		t.Fatal("a lost its own lease while renewing it")
	}
	if after := until(); after < before {
		t.Fatalf("renewal moved the expiry back: %d -> %d", before, after)
	}
	if held(b) {
		t.Fatal("b took the lease a holds")
	}
	a.release(ctx)
	if !held(b) {
		t.Fatal("b did not take the lease a released")
	}
	if held(a) {
		t.Fatal("a took the lease back while b holds it")
	}
	// A holder that died leaves its lease until it expires.
	setLease := func(holder string, until time.Time) {
		t.Helper()
		if _, err := dbs[0].Exec(ctx, `UPDATE outbox_relay SET holder = ?, until_ms = ? WHERE id = 1`, holder, until.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	setLease("dead/dead", time.Now().Add(time.Hour))
	c := testRelay(dbs[0], "svc/svc-3", lease)
	if held(c) {
		t.Fatal("c took a lease that has not expired")
	}
	setLease("dead/dead", time.Now().Add(-time.Millisecond))
	if !held(c) {
		t.Fatal("c did not take the expired lease")
	}
	// The same holder name (a restarted instance) takes its own lease back.
	again := testRelay(dbs[1], "svc/svc-3", lease)
	if !held(again) {
		t.Fatal("a restarted holder did not get its own lease back")
	}
}

func TestOutboxLeaseConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg     OutboxConfig
		wantErr bool
	}{
		{OutboxConfig{}, false},
		{OutboxConfig{PollInterval: time.Second, Lease: 2 * time.Second}, false},
		{OutboxConfig{PollInterval: time.Second, Lease: 1500 * time.Millisecond}, true},
		{OutboxConfig{Lease: -1}, true},
	} {
		c := tc.cfg
		if c.Lease == 0 {
			c.setDefaults()
		}
		if err := c.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("%+v: err %v, want error %v", tc.cfg, err, tc.wantErr)
		}
	}
	c := OutboxConfig{PollInterval: 3 * time.Second}
	c.setDefaults()
	if c.Lease != 9*time.Second {
		t.Errorf("default lease for a 3 s poll = %s, want 9s", c.Lease)
	}
}
