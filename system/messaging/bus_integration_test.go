//go:build integration

package messaging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	amqp "github.com/rabbitmq/amqp091-go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// (a) The same message delivered N times: applied once with dedup on, N times
// with dedup off.
func TestDuplicateDeliveries(t *testing.T) {
	const n = 5
	for _, dedup := range []bool{true, false} {
		name := map[bool]string{true: "dedup on", false: "dedup off"}[dedup]
		t.Run(name, func(t *testing.T) {
			q := labtest.UniqueName(t, "dup")
			prot := AllProtections()
			prot.Dedup = dedup
			db := openStore(t)
			b, err := New(testConfig(t, labtest.AMQPURL(t), prot).withTopology(queueTopology(q)), db, WithLogger(labtest.Logger(t)))
			if err != nil {
				t.Fatal(err)
			}
			b.Handle(q, "Thing", effectHandler)
			runBus(t, b)
			ch := rawChannel(t)
			m := MustMessage("Thing", map[string]int{"n": 1})
			for range n {
				publishRaw(t, ch, q, m)
			}
			waitFor(t, 10*time.Second, "all copies handled", func() bool { return b.Stats().Delivered == n })
			waitFor(t, 5*time.Second, "all copies settled", func() bool {
				s := b.Stats()
				return s.Handled+s.Duplicates == n
			})
			effects := count(t, db, `SELECT COUNT(*) FROM effects WHERE msg_id = ?`, m.ID)
			skips := count(t, db, `SELECT COUNT(*) FROM dedup_skips WHERE message_id = ?`, m.ID)
			want, wantSkips := 1, n-1
			if !dedup {
				want, wantSkips = n, 0
			}
			if effects != want || skips != wantSkips || b.Stats().Duplicates != int64(wantSkips) {
				t.Fatalf("effects=%d skips=%d duplicates=%d, want effects=%d skips=%d", effects, skips, b.Stats().Duplicates, want, wantSkips)
			}
		})
	}
}

func (c Config) withTopology(t Topology) Config {
	c.Topology = c.Topology.Merge(t)
	return c
}

// (b) The consumer's link dies after the commit and before the ack: the broker
// redelivers, and the inbox records the skip.
func TestLinkResetAfterCommitBeforeAck(t *testing.T) {
	viaProxy, proxy := proxied(t)
	q := labtest.UniqueName(t, "reset")
	db := openStore(t)
	var fired atomic.Bool
	hooks := Hooks{BeforeAck: func(ctx context.Context, d *Delivery) {
		if fired.CompareAndSwap(false, true) {
			// Link down at the worst moment: effects committed, ack not sent.
			if err := proxy.Disable(); err != nil {
				t.Error(err)
			}
			if err := proxy.Enable(); err != nil {
				t.Error(err)
			}
		}
	}}
	b, err := New(testConfig(t, viaProxy, AllProtections()).withTopology(queueTopology(q)), db,
		WithLogger(labtest.Logger(t)), WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	b.Handle(q, "Thing", effectHandler)
	runBus(t, b)
	m := MustMessage("Thing", struct{}{})
	publishRaw(t, rawChannel(t), q, m)
	// The skip's row commits before the bus counts it: wait for both.
	waitFor(t, 20*time.Second, "a recorded and counted dedup skip", func() bool {
		return count(t, db, `SELECT COUNT(*) FROM dedup_skips WHERE message_id = ? AND redelivered = 1`, m.ID) == 1 &&
			b.Stats().Duplicates >= 1
	})
	if e := count(t, db, `SELECT COUNT(*) FROM effects WHERE msg_id = ?`, m.ID); e != 1 {
		t.Fatalf("effect applied %d times, want 1", e)
	}
	s := b.Stats()
	if s.Duplicates != 1 || s.Reconnects < 1 {
		t.Fatalf("stats %+v: want 1 duplicate and a reconnect", s)
	}
}

// (c) The broker link is down while a handling publishes: with the outbox
// the message arrives after the link returns; without it and publishing
// after the commit, the effect commits and the message is lost; without it
// and publishing in the transaction, the publish fails and takes the effect
// with it (consistent, but the work failed).
func TestLinkDownWhilePublishing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		outbox bool
		direct string
	}{
		{"outbox on", true, ""},
		{"outbox off after-commit", false, DirectAfterCommit},
		{"outbox off in-tx", false, DirectInTx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			viaProxy, proxy := proxied(t)
			q := labtest.UniqueName(t, "out")
			ch := rawChannel(t)
			if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
				t.Fatal(err)
			}
			prot := AllProtections()
			prot.Outbox = tc.outbox
			db := openStore(t)
			cfg := testConfig(t, viaProxy, prot).withTopology(queueTopology(q))
			cfg.DirectPublish = tc.direct
			b, err := New(cfg, db, WithLogger(labtest.Logger(t)))
			if err != nil {
				t.Fatal(err)
			}
			runBus(t, b)
			if err := proxy.Disable(); err != nil {
				t.Fatal(err)
			}
			m := MustMessage("TicketCreated", map[string]string{"id": "t-1"})
			err = b.InTx(t.Context(), func(ctx context.Context, tx *Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO effects (key, msg_id) VALUES ('ticket:t-1', ?)`, m.ID); err != nil {
					return err
				}
				return tx.Publish(ctx, ToQueue(q), m)
			})
			wantEffects := 1
			switch {
			case tc.outbox && err != nil:
				t.Fatalf("InTx with outbox: %v", err)
			case tc.direct == DirectAfterCommit && !errors.Is(err, ErrLostAfterCommit):
				t.Fatalf("InTx publishing after commit: err = %v, want ErrLostAfterCommit", err)
			case tc.direct == DirectInTx:
				if err == nil || errors.Is(err, ErrLostAfterCommit) {
					t.Fatalf("InTx publishing in the transaction: err = %v, want the publish error", err)
				}
				wantEffects = 0
			}
			if e := count(t, db, `SELECT COUNT(*) FROM effects WHERE msg_id = ?`, m.ID); e != wantEffects {
				t.Fatalf("effect committed %d times, want %d", e, wantEffects)
			}
			if err := proxy.Enable(); err != nil {
				t.Fatal(err)
			}
			if tc.outbox {
				var got []amqp.Delivery
				labtest.Eventually(t, 15*time.Second, func() error {
					got = append(got, drain(t, ch, q)...)
					if len(got) == 0 {
						return errors.New("outbox message not relayed yet")
					}
					return nil
				})
				if got[0].MessageId != m.ID {
					t.Fatalf("got message %s, want %s", got[0].MessageId, m.ID)
				}
				if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE message_id = ? AND sent_at IS NOT NULL`, m.ID); n != 1 {
					t.Fatalf("outbox row not marked sent")
				}
				return
			}
			// Without the outbox the message never arrives: a later message
			// from the same publisher does, this one never does.
			marker := MustMessage("Marker", struct{}{})
			if err := b.Publisher().Publish(t.Context(), ToQueue(q), marker); err != nil {
				t.Fatal(err)
			}
			var got []amqp.Delivery
			labtest.Eventually(t, 10*time.Second, func() error {
				got = append(got, drain(t, ch, q)...)
				for _, d := range got {
					if d.MessageId == marker.ID {
						return nil
					}
				}
				return errors.New("marker not arrived")
			})
			for _, d := range got {
				if d.MessageId == m.ID {
					t.Fatal("the message arrived although the link was down when it was published")
				}
			}
			wantLost := int64(0)
			if tc.direct == DirectAfterCommit {
				wantLost = 1 // committed effect, lost message
			}
			if s := b.Stats(); s.LostAfterCommit != wantLost || s.Ghosts != 0 {
				t.Fatalf("LostAfterCommit = %d, Ghosts = %d; want %d and 0", s.LostAfterCommit, s.Ghosts, wantLost)
			}
		})
	}
}

// (c2) The handler publishes, then the handling fails (an error after the
// handler, as ConsumerErrorAfterHandler): without the outbox, publishing in
// the transaction, every attempt's message is on the broker although every
// attempt rolled back (ghost events, and duplicates on redelivery), and each
// publish span's parent handling says rolled-back (what TF7 checks); with
// the outbox nothing leaves; publishing after the commit nothing leaves either.
func TestFailureAfterHandlerLeavesGhostsWithoutOutbox(t *testing.T) {
	for _, tc := range []struct {
		name   string
		outbox bool
		direct string
		ghosts int // messages expected on the broker = one per attempt when ghosting
	}{
		{"outbox off in-tx", false, DirectInTx, 3},
		{"outbox off after-commit", false, DirectAfterCommit, 0},
		{"outbox on", true, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			in, out := labtest.UniqueName(t, "work"), labtest.UniqueName(t, "events")
			prot := AllProtections()
			prot.Outbox = tc.outbox
			cfg := testConfig(t, labtest.AMQPURL(t), prot).withTopology(queueTopology(in, out))
			cfg.DirectPublish = tc.direct
			db := openStore(t)
			b, err := New(cfg, db, WithLogger(labtest.Logger(t)), WithTracerProvider(tp))
			if err != nil {
				t.Fatal(err)
			}
			var onBrokerBeforeRollback atomic.Int64
			ch, peek := rawChannel(t), rawChannel(t)
			b.Handle(in, "InquirySubmitted", func(ctx context.Context, tx *Tx, d *Delivery) error {
				if err := effectHandler(ctx, tx, d); err != nil {
					return err
				}
				if err := tx.Publish(ctx, ToQueue(out), MustMessage("TicketCreated", map[string]string{"inquiry": d.ID})); err != nil {
					return err
				}
				// Still inside the transaction: is this attempt's event already out?
				if q, err := peek.QueueDeclarePassive(out, true, false, false, false, nil); err == nil && q.Messages >= d.Attempt {
					onBrokerBeforeRollback.Add(1)
				}
				return errors.New("anomaly after the handler")
			})
			runBus(t, b)
			m := MustMessage("InquirySubmitted", struct{}{}).WithCorrelation("flow-ghost")
			publishRaw(t, rawChannel(t), in, m)
			waitFor(t, 15*time.Second, "dead-lettered after every attempt failed", func() bool { return b.Stats().DeadLettered == 1 })
			if e := count(t, db, `SELECT COUNT(*) FROM effects`); e != 0 {
				t.Fatalf("%d effects of rolled-back handlings committed", e)
			}
			var got []amqp.Delivery
			if tc.ghosts > 0 {
				labtest.Eventually(t, 5*time.Second, func() error {
					got = append(got, drain(t, ch, out)...)
					if len(got) < tc.ghosts {
						return fmt.Errorf("%d of %d ghost events on the broker", len(got), tc.ghosts)
					}
					return nil
				})
			} else {
				// Nothing may leave: a marker through the same bus arrives alone.
				marker := MustMessage("Marker", struct{}{})
				if err := b.Publisher().Publish(t.Context(), ToQueue(out), marker); err != nil {
					t.Fatal(err)
				}
				labtest.Eventually(t, 5*time.Second, func() error {
					got = append(got, drain(t, ch, out)...)
					if len(got) == 0 {
						return errors.New("marker not arrived")
					}
					return nil
				})
				if got[len(got)-1].MessageId != marker.ID {
					t.Fatalf("got %s before the marker", got[0].Type)
				}
				got = got[:len(got)-1]
			}
			if len(got) != tc.ghosts {
				t.Fatalf("%d events on the broker, want %d", len(got), tc.ghosts)
			}
			ids := map[string]bool{}
			for _, d := range got {
				ids[d.MessageId] = true
				if d.CorrelationId != m.CorrelationID || d.Headers[HeaderCausationID] != m.ID {
					t.Fatalf("ghost %s not caused by %s: headers %v", d.MessageId, m.ID, d.Headers)
				}
			}
			if len(ids) != tc.ghosts {
				t.Fatalf("ghost ids %v: want one fresh id per attempt", ids)
			}
			if s := b.Stats(); s.Ghosts != int64(tc.ghosts) || onBrokerBeforeRollback.Load() != int64(tc.ghosts) {
				t.Fatalf("Ghosts = %d, seen on the broker before the rollback %d times; want %d", s.Ghosts, onBrokerBeforeRollback.Load(), tc.ghosts)
			}
			// The trace says so too: each business publish's parent handling rolled back.
			spans := exp.GetSpans()
			byID := map[trace.SpanID]tracetest.SpanStub{}
			for _, s := range spans {
				byID[s.SpanContext.SpanID()] = s
			}
			ghostSpans := 0
			for _, s := range spans {
				if s.SpanKind != trace.SpanKindProducer || attr(s, otelamqp.LabMessageType) != "TicketCreated" {
					continue
				}
				parent, ok := byID[s.Parent.SpanID()]
				if !ok || attr(parent, otelamqp.LabTxOutcome) != otelamqp.TxRolledBack {
					t.Fatalf("publish span %s: parent %q tx outcome %q, want a rolled-back handling", s.SpanContext.SpanID(), parent.Name, attr(parent, otelamqp.LabTxOutcome))
				}
				ghostSpans++
			}
			if ghostSpans != tc.ghosts {
				t.Fatalf("%d TicketCreated publish spans, want %d", ghostSpans, tc.ghosts)
			}
		})
	}
}

// (d) Versions 1,3,2,2 of one aggregate: the guard applies 1,2,3 and skips
// the second 2; without the guard all four are applied in arrival order.
func TestOrderingGuard(t *testing.T) {
	for _, ordering := range []bool{true, false} {
		name := map[bool]string{true: "ordering on", false: "ordering off"}[ordering]
		t.Run(name, func(t *testing.T) {
			q := labtest.UniqueName(t, "ord")
			prot := AllProtections()
			prot.Ordering = ordering
			cfg := testConfig(t, labtest.AMQPURL(t), prot).withTopology(queueTopology(q))
			cfg.Retry.MaxAttempts = 10
			db := openStore(t)
			b, err := New(cfg, db, WithLogger(labtest.Logger(t)))
			if err != nil {
				t.Fatal(err)
			}
			b.Consume(q, ConsumerConfig{Prefetch: 1, Concurrency: 1})
			var mu sync.Mutex
			var applied []int64
			b.Handle(q, "TicketChanged", func(ctx context.Context, tx *Tx, d *Delivery) error {
				tx.OnCommit(func() {
					mu.Lock()
					applied = append(applied, d.AggregateVersion)
					mu.Unlock()
				})
				return effectHandler(ctx, tx, d)
			}, Ordered(""))
			runBus(t, b)
			ch := rawChannel(t)
			for _, v := range []int64{1, 3, 2, 2} {
				publishRaw(t, ch, q, MustMessage("TicketChanged", map[string]int64{"version": v}).WithAggregate("ticket-1", v))
			}
			want := []int64{1, 2, 3}
			if !ordering {
				want = []int64{1, 3, 2, 2}
			}
			waitFor(t, 15*time.Second, "all versions settled", func() bool {
				mu.Lock()
				defer mu.Unlock()
				s := b.Stats()
				return len(applied) == len(want) && (!ordering || s.OrderStale == 1)
			})
			mu.Lock()
			got := append([]int64(nil), applied...)
			mu.Unlock()
			if len(got) != len(want) {
				t.Fatalf("applied %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("applied %v, want %v", got, want)
				}
			}
			if !ordering {
				if n := count(t, db, `SELECT COUNT(*) FROM order_events`); n != 0 {
					t.Fatalf("guard off but %d decisions recorded", n)
				}
				return
			}
			rows, err := db.Query(t.Context(), `SELECT version, outcome FROM order_events ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var trail []string
			for rows.Next() {
				var v int64
				var o string
				if err := rows.Scan(&v, &o); err != nil {
					t.Fatal(err)
				}
				trail = append(trail, strings.Join([]string{string(rune('0' + v)), o}, ":"))
			}
			// 3 may be early more than once before 2 is applied.
			joined := strings.Join(trail, " ")
			if trail[0] != "1:applied" || !strings.Contains(joined, "3:early") || !strings.Contains(joined, "2:applied") ||
				!strings.Contains(joined, "2:stale") || trail[len(trail)-1] != "3:applied" {
				t.Fatalf("order decisions %v", trail)
			}
			s := b.Stats()
			if s.OrderApplied != 3 || s.OrderStale != 1 || s.OrderEarly < 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// (e) A poison message lands in the dead-letter queue after the maximum
// attempts, with its attempt count and last error; with retries off it is
// requeued again and again instead.
func TestPoisonMessage(t *testing.T) {
	t.Run("retries on", func(t *testing.T) {
		q := labtest.UniqueName(t, "poison")
		db := openStore(t)
		b, err := New(testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q)), db, WithLogger(labtest.Logger(t)))
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int64
		b.Handle(q, "Poison", func(ctx context.Context, tx *Tx, d *Delivery) error {
			runs.Add(1)
			if err := effectHandler(ctx, tx, d); err != nil {
				return err
			}
			return errors.New("cannot digest this")
		})
		runBus(t, b)
		ch := rawChannel(t)
		m := MustMessage("Poison", struct{}{})
		publishRaw(t, ch, q, m)
		waitFor(t, 15*time.Second, "dead-lettered", func() bool { return b.Stats().DeadLettered == 1 })
		dl := drain(t, ch, DeadLetterQueueName(q))
		if len(dl) != 1 || dl[0].MessageId != m.ID {
			t.Fatalf("dead-letter queue holds %d messages", len(dl))
		}
		if a, _ := headerInt(dl[0].Headers[HeaderAttempt]); a != 3 {
			t.Fatalf("attempt header %v, want 3", dl[0].Headers[HeaderAttempt])
		}
		if e, _ := dl[0].Headers[HeaderLastError].(string); !strings.Contains(e, "cannot digest this") {
			t.Fatalf("last-error header %q", e)
		}
		if runs.Load() != 3 || b.Stats().Retried != 2 {
			t.Fatalf("handler ran %d times, %d retries; want 3 and 2", runs.Load(), b.Stats().Retried)
		}
		if e := count(t, db, `SELECT COUNT(*) FROM effects`); e != 0 {
			t.Fatalf("%d effects of failed handlings committed", e)
		}
	})
	t.Run("retries off", func(t *testing.T) {
		q := labtest.UniqueName(t, "poison")
		prot := AllProtections()
		prot.Retries = false
		b, err := New(testConfig(t, labtest.AMQPURL(t), prot).withTopology(queueTopology(q)), openStore(t), WithLogger(labtest.Logger(t)))
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int64
		b.Handle(q, "Poison", func(ctx context.Context, tx *Tx, d *Delivery) error {
			runs.Add(1)
			return errors.New("cannot digest this")
		})
		runBus(t, b)
		publishRaw(t, rawChannel(t), q, MustMessage("Poison", struct{}{}))
		// Far past MaxAttempts (3): it spins, and nothing is dead-lettered.
		waitFor(t, 15*time.Second, "endless redelivery", func() bool { return runs.Load() >= 20 && b.Stats().Requeued >= 20 })
		if s := b.Stats(); s.DeadLettered != 0 || s.Retried != 0 || s.Requeued < 20 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// (f) A publish swallowed by a dead link: with confirms off it is lost without
// an error; with confirms on the timeout republishes it once the link is back.
func TestConfirmsAgainstASilentLink(t *testing.T) {
	for _, confirms := range []bool{true, false} {
		name := map[bool]string{true: "confirms on", false: "confirms off"}[confirms]
		t.Run(name, func(t *testing.T) {
			viaProxy, proxy := proxied(t)
			q := labtest.UniqueName(t, "conf")
			prot := AllProtections()
			prot.Confirms = confirms
			b, err := New(testConfig(t, viaProxy, prot).withTopology(queueTopology(q)), openStore(t), WithLogger(labtest.Logger(t)))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = b.pconn.Close() }()
			ch := rawChannel(t)
			pub := b.Publisher()
			warm := MustMessage("Warm", struct{}{})
			if err := pub.Publish(t.Context(), ToQueue(q), warm); err != nil {
				t.Fatal(err)
			}
			labtest.Eventually(t, 5*time.Second, func() error {
				if len(drain(t, ch, q)) == 1 {
					return nil
				}
				return errors.New("warm-up message not arrived")
			})
			// The link goes silent: client-to-broker bytes are dropped.
			if _, err := proxy.AddToxic("silence", "timeout", "upstream", 1, toxiclient.Attributes{"timeout": 0}); err != nil {
				t.Fatal(err)
			}
			m := MustMessage("Important", struct{}{})
			if !confirms {
				if err := pub.Publish(t.Context(), ToQueue(q), m); err != nil {
					t.Fatalf("fire-and-forget publish reported %v", err)
				}
				// The connection is reset while the link is silent, then heals.
				b.pconn.Reset()
				if err := proxy.RemoveToxic("silence"); err != nil {
					t.Fatal(err)
				}
				// The publisher may learn of the reset only from this publish
				// ("use of closed network connection"); the next one redials.
				marker := MustMessage("Marker", struct{}{})
				labtest.Eventually(t, 10*time.Second, func() error {
					return pub.Publish(t.Context(), ToQueue(q), marker)
				})
				var got []amqp.Delivery
				labtest.Eventually(t, 10*time.Second, func() error {
					got = append(got, drain(t, ch, q)...)
					for _, d := range got {
						if d.MessageId == marker.ID {
							return nil
						}
					}
					return errors.New("marker not arrived")
				})
				for _, d := range got {
					if d.MessageId == m.ID {
						t.Fatal("the swallowed message arrived: no loss to observe")
					}
				}
				return
			}
			done := make(chan error, 1)
			go func() { done <- pub.Publish(t.Context(), ToQueue(q), m) }()
			waitFor(t, 10*time.Second, "a confirm timeout", func() bool { return b.Stats().ConfirmTimeouts >= 1 })
			if err := proxy.RemoveToxic("silence"); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("publish with confirms: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("publish did not recover within 20 s")
			}
			var got []amqp.Delivery
			labtest.Eventually(t, 10*time.Second, func() error {
				got = append(got, drain(t, ch, q)...)
				for _, d := range got {
					if d.MessageId == m.ID {
						return nil
					}
				}
				return errors.New("republished message not arrived")
			})
			if s := b.Stats(); s.Republished < 1 {
				t.Fatalf("stats %+v: want a republish", s)
			}
		})
	}
}

// Rows committed while no relay runs (a crash after commit) are relayed on
// the next start, oldest first, and marked sent.
func TestOutboxRelaysBacklogOldestFirst(t *testing.T) {
	q := labtest.UniqueName(t, "backlog")
	ch := rawChannel(t)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	cfg := testConfig(t, labtest.AMQPURL(t), AllProtections()).withTopology(queueTopology(q))
	cfg.Outbox.BatchSize = 4 // several rounds
	var ids []string
	writer, err := New(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		m := MustMessage("Numbered", map[string]int{"n": i})
		ids = append(ids, m.ID)
		if err := writer.InTx(t.Context(), func(ctx context.Context, tx *Tx) error { return tx.Publish(ctx, ToQueue(q), m) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := drain(t, ch, q); len(got) != 0 {
		t.Fatalf("%d messages published without a running relay", len(got))
	}
	b, err := New(cfg, db, WithLogger(labtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	runBus(t, b)
	var got []amqp.Delivery
	labtest.Eventually(t, 10*time.Second, func() error {
		got = append(got, drain(t, ch, q)...)
		if len(got) < len(ids) {
			return fmt.Errorf("%d of %d relayed", len(got), len(ids))
		}
		return nil
	})
	for i, d := range got {
		if d.MessageId != ids[i] {
			t.Fatalf("message %d is %s, want %s (oldest first)", i, d.MessageId, ids[i])
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL`); n != 0 {
		t.Fatalf("%d rows not marked sent", n)
	}
	// New rows after the backlog still go out (the cursor moved, not past them).
	m := MustMessage("Late", struct{}{})
	if err := b.InTx(t.Context(), func(ctx context.Context, tx *Tx) error { return tx.Publish(ctx, ToQueue(q), m) }); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		for _, d := range drain(t, ch, q) {
			if d.MessageId == m.ID {
				return nil
			}
		}
		return errors.New("late message not relayed")
	})
}
