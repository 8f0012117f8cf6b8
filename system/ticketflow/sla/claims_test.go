package sla

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// wallClock is a settable wall clock for claim expiry.
type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (w *wallClock) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *wallClock) Add(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = w.t.Add(d)
}

func TestSQLClaims(t *testing.T) {
	db := openDB(t)
	wall := &wallClock{t: time.Unix(1_700_000_000, 0)}
	a := &SQLClaims{DB: db, Holder: "sla", TTL: 30 * time.Second, Now: wall.Now}
	b := &SQLClaims{DB: db, Holder: "sla-2", TTL: 30 * time.Second, Now: wall.Now}
	claim := func(c *SQLClaims, key string) bool {
		t.Helper()
		ok, err := c.Claim(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(a, "reminder:t:1") || claim(b, "reminder:t:1") {
		t.Fatal("want a to take the free claim and b to be refused")
	}
	if !claim(a, "reminder:t:1") {
		t.Fatal("a could not take its own claim again (a retry)")
	}
	if !claim(b, "reminder:t:2") {
		t.Fatal("a claim on one key blocked another key")
	}
	wall.Add(29 * time.Second)
	if claim(b, "reminder:t:1") {
		t.Fatal("b took a's claim before it expired")
	}
	wall.Add(2 * time.Second)
	if !claim(b, "reminder:t:1") || claim(a, "reminder:t:1") {
		t.Fatal("want b to take the expired claim and a to be refused now")
	}
	if err := NewSQLStore(db, testConfig(), nil).DeleteClaim(t.Context(), "reminder:t:1"); err != nil {
		t.Fatal(err)
	}
	if !claim(a, "reminder:t:1") {
		t.Fatal("a deleted claim still blocks")
	}
	if err := (&SQLClaims{DB: db}).Validate(); err == nil {
		t.Fatal("claims without a holder validated")
	}
}

// gatedSender records agent messages; with a gate, Send reports that it
// was entered and waits for the release (the moment between posting the
// message and the action's commit).
type gatedSender struct {
	mu      sync.Mutex
	sent    []AgentMessage
	entered chan string   // nil: no gate
	release chan struct{} // closed to let gated calls return
}

func (g *gatedSender) Send(ctx context.Context, m AgentMessage) error {
	g.mu.Lock()
	g.sent = append(g.sent, m)
	g.mu.Unlock()
	if g.entered != nil {
		g.entered <- m.IdempotencyKey
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (g *gatedSender) keys() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, m := range g.sent {
		out = append(out, m.IdempotencyKey)
	}
	return out
}

// TestTwoSchedulersOnOneDatabaseSendOnce runs the scheduler loops of two SLA
// instances on one database file (two store handles, as two processes).
// While instance 1 is between posting a reminder and committing the action,
// instance 2 scans: it finds the reminder claimed and sends nothing. A claim
// left by an instance that died before its commit keeps the other off the
// action until it expires; then the other one performs it, once.
func TestTwoSchedulersOnOneDatabaseSendOnce(t *testing.T) {
	h := newHarness(t)
	// h.db's file, opened a second time.
	var path string
	if err := h.db.QueryRow(t.Context(), `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	db2, err := store.Open(t.Context(), store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db2.Close() })

	wall := &wallClock{t: time.Unix(1_700_000_000, 0)}
	inTxOn := func(db *store.DB) TxFunc {
		return func(ctx context.Context, fn func(ctx context.Context, tx ActionTx) error) error {
			return db.InTx(ctx, func(ctx context.Context, stx *store.Tx) error {
				return fn(ctx, &sqlTx{Tx: stx, h: h})
			})
		}
	}
	newSched := func(db *store.DB, holder string, snd Sender) *Scheduler {
		s, err := NewScheduler(SchedulerConfig{Timing: h.cfg, Reads: db, InTx: inTxOn(db), Sender: snd, Clock: h.clk,
			Claims: &SQLClaims{DB: db, Holder: holder, TTL: 30 * time.Second, Now: wall.Now}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	one := &gatedSender{entered: make(chan string, 1), release: make(chan struct{})}
	two := &gatedSender{}
	s1, s2 := newSched(h.db, "sla", one), newSched(db2, "sla-2", two)

	h.event(contracts.TicketQualified{TicketID: "tkt", Version: 2, Type: contracts.TypeIncident,
		SeverityLevel: contracts.SeverityCritical, Email: "anna@devmentors.io", CreatedAt: t0})
	h.event(contracts.AgentAssignedToTicket{TicketID: "tkt", Version: 3, AssignedAgentUserID: "agent-2"})
	h.clk.Set(t0.Add(15 * time.Second)) // first reminder due

	type result struct{ performed, failed int }
	done := make(chan result, 1)
	go func() {
		n, failed, err := s1.RunOnce(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- result{n, failed}
	}()
	if key := <-one.entered; key != "reminder:tkt:1" {
		t.Fatalf("instance 1 sent %s", key)
	}
	// Instance 1 has posted the reminder and not committed yet.
	if n, failed, err := s2.RunOnce(t.Context()); n != 0 || failed != 0 || err != nil {
		t.Fatalf("instance 2 while 1 performs: performed %d failed %d err %v", n, failed, err)
	}
	close(one.release)
	if r := <-done; r.performed != 1 || r.failed != 0 {
		t.Fatalf("instance 1: %+v", r)
	}
	// Instance 2 scans again after the commit: nothing left to do.
	if n, _, _ := s2.RunOnce(t.Context()); n != 0 {
		t.Fatalf("instance 2 performed %d after instance 1 committed", n)
	}

	// Instance 1 claims the second reminder and dies before it sends.
	h.clk.Set(t0.Add(30 * time.Second))
	if ok, err := (&SQLClaims{DB: h.db, Holder: "sla", TTL: 30 * time.Second, Now: wall.Now}).Claim(t.Context(), "reminder:tkt:2"); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if n, failed, _ := s2.RunOnce(t.Context()); n != 0 || failed != 0 {
		t.Fatalf("instance 2 performed %d (failed %d) while the dead instance's claim lives", n, failed)
	}
	wall.Add(31 * time.Second)
	if n, failed, err := s2.RunOnce(t.Context()); n != 1 || failed != 0 || err != nil {
		t.Fatalf("instance 2 after the claim expired: performed %d failed %d err %v", n, failed, err)
	}

	if got := append(one.keys(), two.keys()...); !reflect.DeepEqual(got, []string{"reminder:tkt:1", "reminder:tkt:2"}) {
		t.Fatalf("sent %v: want each reminder once", got)
	}
	if got := h.effectKeys(); !reflect.DeepEqual(got, []string{"reminder:tkt:1", "reminder:tkt:2"}) {
		t.Fatalf("sla_effects %v", got)
	}
	var claims int
	if err := h.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM sla_claims`).Scan(&claims); err != nil || claims != 0 {
		t.Fatalf("%d claims left after the commits (%v)", claims, err)
	}
}
