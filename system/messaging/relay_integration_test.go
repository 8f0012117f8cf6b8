//go:build integration

package messaging

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/store"
)

// TestTwoBusesOnOneDatabasePublishEachRowOnce runs two buses (two instances
// of a service) on one database file, each with its own store handle and
// relay, and writes outbox rows through both at once: every row is published
// exactly once, by the relay holding the lease. When that bus stops, the
// other one takes over and relays the rows written after.
func TestTwoBusesOnOneDatabasePublishEachRowOnce(t *testing.T) {
	q := labtest.UniqueName(t, "shared-outbox")
	ch := rawChannel(t)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	var buses []*Bus
	var stops []func()
	for i := range 2 {
		db, err := store.Open(t.Context(), store.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		cfg := testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q))
		cfg.Instance = fmt.Sprint(i + 1)
		cfg.Outbox.BatchSize = 8 // many rounds, many chances to overlap
		b, err := New(cfg, db, WithLogger(labtest.Logger(t).With("bus", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		stop := sync.OnceFunc(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("bus %d: %v", i+1, err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("bus %d did not stop", i+1)
			}
		})
		t.Cleanup(stop)
		buses, stops = append(buses, b), append(stops, stop)
	}
	for _, b := range buses {
		select {
		case <-b.Ready():
		case <-time.After(20 * time.Second):
			t.Fatal("bus not ready")
		}
	}

	write := func(b *Bus, n int, tag string) []string {
		var ids []string
		for i := range n {
			m := MustMessage("Numbered", map[string]any{"n": i, "tag": tag})
			ids = append(ids, m.ID)
			if err := b.InTx(t.Context(), func(ctx context.Context, tx *Tx) error { return tx.Publish(ctx, ToQueue(q), m) }); err != nil {
				t.Error(err)
				return ids
			}
		}
		return ids
	}
	seen := map[string]int{}
	expectOnce := func(ids []string) {
		t.Helper()
		labtest.Eventually(t, 20*time.Second, func() error {
			for _, d := range drain(t, ch, q) {
				seen[d.MessageId]++
			}
			missing := 0
			for _, id := range ids {
				if seen[id] == 0 {
					missing++
				}
			}
			if missing > 0 {
				return fmt.Errorf("%d of %d rows not relayed yet", missing, len(ids))
			}
			return nil
		})
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for i, b := range buses {
		wg.Go(func() {
			got := write(b, 120, fmt.Sprint("bus", i+1))
			mu.Lock()
			ids = append(ids, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	expectOnce(ids)
	if n := count(t, buses[0].db, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL`); n != 0 {
		t.Fatalf("%d rows not marked sent", n)
	}
	s1, s2 := buses[0].Stats().RelayPublished, buses[1].Stats().RelayPublished
	if s1+s2 != int64(len(ids)) || (s1 != 0 && s2 != 0) {
		t.Fatalf("relayed %d by bus 1 and %d by bus 2, want all %d by one of them", s1, s2, len(ids))
	}
	holder, other := 0, 1
	if s2 > 0 {
		holder, other = 1, 0
	}

	// The holder stops (and releases its lease): the other bus takes over
	// and relays the rows written after.
	stops[holder]()
	late := write(buses[other], 20, "late")
	expectOnce(late)
	ids = append(ids, late...)

	// A last drain: nothing arrived twice.
	for _, d := range drain(t, ch, q) {
		seen[d.MessageId]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("message %s published %d times", id, seen[id])
		}
	}
}

// TestAfterRelayPublishErrorRepublishes: a row whose AfterRelayPublish hook
// fails stays unsent and is published again at the next round — three
// failures, four copies on the queue — and a hook that succeeds marks it
// sent once.
func TestAfterRelayPublishErrorRepublishes(t *testing.T) {
	q := labtest.UniqueName(t, "relay-hook")
	ch := rawChannel(t)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	hook := func(_ context.Context, m Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if m.Type == "Failing" && calls <= 3 {
			return fmt.Errorf("anomaly on %s", m.Type)
		}
		return nil
	}
	db := openStore(t)
	cfg := testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q))
	b, err := New(cfg, db, WithLogger(labtest.Logger(t)), WithHooks(Hooks{AfterRelayPublish: hook}))
	if err != nil {
		t.Fatal(err)
	}
	runBus(t, b)
	m := MustMessage("Failing", map[string]any{"n": 1})
	if err := b.InTx(t.Context(), func(ctx context.Context, tx *Tx) error { return tx.Publish(ctx, ToQueue(q), m) }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the row marked sent", func() bool {
		return count(t, db, `SELECT COUNT(*) FROM outbox WHERE message_id = ? AND sent_at IS NOT NULL`, m.ID) == 1
	})
	got := drain(t, ch, q)
	if len(got) != 4 {
		t.Fatalf("%d copies on the queue, want 4 (3 failed hooks + 1)", len(got))
	}
	for _, d := range got {
		if d.MessageId != m.ID {
			t.Fatalf("copy with id %s, want %s", d.MessageId, m.ID)
		}
	}
}
