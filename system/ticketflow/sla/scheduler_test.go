package sla

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/store/storetest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	return storetest.Open(t, "sla", Migrations)
}

// sqlTx is the ActionTx of these tests: a real SQLite transaction; published
// messages and effect keys count only once it commits.
type sqlTx struct {
	*store.Tx
	h    *harness
	pubs []contracts.Message
	keys []string
}

func (t *sqlTx) Effect(keys ...string) { t.keys = append(t.keys, keys...) }
func (t *sqlTx) Publish(_ context.Context, m contracts.Message) error {
	t.pubs = append(t.pubs, m)
	return nil
}

type harness struct {
	t   *testing.T
	db  *store.DB
	clk *clock.Fake
	cfg Config
	tr  *Tracker

	mu        sync.Mutex
	published []contracts.Message
	effects   []string
	sent      []AgentMessage
	sendErr   error // next Send fails with it (then cleared)
	txErr     error // next action transaction fails with it after its writes (then cleared)
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, db: openDB(t), clk: clock.NewFake(t0), cfg: testConfig()}
	var err error
	if h.tr, err = NewTracker(NewCatalog(), h.cfg); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) Send(_ context.Context, m AgentMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.sendErr; err != nil {
		h.sendErr = nil
		return err
	}
	h.sent = append(h.sent, m)
	return nil
}

func (h *harness) inTx(ctx context.Context, fn func(ctx context.Context, tx ActionTx) error) error {
	return h.db.InTx(ctx, func(ctx context.Context, stx *store.Tx) error {
		tx := &sqlTx{Tx: stx, h: h}
		if err := fn(ctx, tx); err != nil {
			return err
		}
		h.mu.Lock()
		err := h.txErr
		h.txErr = nil
		h.mu.Unlock()
		if err != nil {
			return err
		}
		stx.OnCommit(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.published = append(h.published, tx.pubs...)
			h.effects = append(h.effects, tx.keys...)
		})
		return nil
	})
}

func (h *harness) scheduler() *Scheduler {
	s, err := NewScheduler(SchedulerConfig{Timing: h.cfg, Reads: h.db, InTx: h.inTx, Sender: h, Clock: h.clk,
		MaxWait: 5 * time.Second, RetryAfter: time.Second})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// event applies a ticket event through the SQL store in one transaction.
func (h *harness) event(ev contracts.Versioned) {
	h.t.Helper()
	err := h.db.InTx(h.t.Context(), func(ctx context.Context, tx *store.Tx) error {
		_, out, err := h.tr.Handle(ctx, NewSQLStore(tx, h.cfg, h.clk), ev, h.clk.Now())
		h.published = append(h.published, out...)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) record() *Record {
	h.t.Helper()
	r, err := NewSQLStore(h.db, h.cfg, h.clk).Record(h.t.Context(), "tkt")
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) effectKeys() []string {
	h.t.Helper()
	rows, err := NewSQLStore(h.db, h.cfg, h.clk).Effects(h.t.Context(), "tkt")
	if err != nil {
		h.t.Fatal(err)
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.Key)
	}
	return keys
}

func (h *harness) qualify() {
	h.event(contracts.TicketQualified{TicketID: "tkt", Version: 2, Type: contracts.TypeIncident,
		SeverityLevel: contracts.SeverityCritical, Email: "anna@devmentors.io", CreatedAt: t0})
}

func TestSQLStoreRoundTrip(t *testing.T) {
	h := newHarness(t)
	st := NewSQLStore(h.db, h.cfg, h.clk)
	if _, err := st.Record(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	met := false
	want := &Record{TicketID: "tkt", ServiceType: contracts.ServiceQuestionTicket, Severity: contracts.SeverityHigh, Tier: TierVIP,
		LastKnownVersion: 7, AgentUserID: "agent-1", HasDeadline: true, Anchor: t0, Window: 3*time.Minute + 7*time.Nanosecond,
		Paused: 1234567 * time.Nanosecond, BlockedAt: t0.Add(time.Second), Revision: 3,
		ReminderSent: [Reminders]time.Time{t0.Add(time.Minute), {}, t0.Add(2 * time.Minute)}, ReminderSkipped: [Reminders]bool{false, true, false},
		Breaches: 2, LastBreachActive: t0.Add(5 * time.Minute), Completed: true, CompletedAt: t0.Add(6 * time.Minute), DeadlineMet: &met}
	if err := st.SaveRecord(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	got, err := st.Record(t.Context(), "tkt")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
	}
	// Completed: nothing pending, so the scheduler never sees it.
	if _, ok, err := st.NextDueAt(t.Context()); err != nil || ok {
		t.Fatalf("NextDueAt of a completed record: ok=%v err=%v", ok, err)
	}
}

func TestSchedulerPerformsTheTimelineOnce(t *testing.T) {
	h := newHarness(t)
	h.qualify()
	h.event(contracts.AgentAssignedToTicket{TicketID: "tkt", Version: 3, AssignedAgentUserID: "agent-2"})
	if len(h.published) != 1 || h.published[0].(contracts.DeadlinesCalculated).DeadlineUTC != t0.Add(time.Minute) {
		t.Fatalf("published on qualification: %v", h.published)
	}
	s := h.scheduler()
	st := NewSQLStore(h.db, h.cfg, h.clk)
	var performed []string
	// Walk from due time to due time, as Run does, with a fake clock.
	for i := 0; i < 20; i++ {
		next, ok, err := st.NextDueAt(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !ok || next.After(t0.Add(85*time.Second)) {
			break
		}
		h.clk.Set(next)
		n, failed, err := s.RunOnce(t.Context())
		if err != nil || failed != 0 || n == 0 {
			t.Fatalf("RunOnce at %v: performed %d failed %d err %v", next.Sub(t0), n, failed, err)
		}
		performed = append(performed, next.Sub(t0).String())
		// A second scan at the same instant performs nothing again.
		if n, _, _ := s.RunOnce(t.Context()); n != 0 {
			t.Fatalf("repeated scan performed %d", n)
		}
	}
	if want := []string{"15s", "30s", "54s", "1m10s", "1m20s"}; !reflect.DeepEqual(performed, want) {
		t.Fatalf("due instants %v, want %v", performed, want)
	}
	wantKeys := []string{"reminder:tkt:1", "reminder:tkt:2", "reminder:tkt:3", "breach:tkt:1", "breach:tkt:2"}
	if got := h.effectKeys(); !reflect.DeepEqual(got, wantKeys) {
		t.Fatalf("sla_effects %v, want %v", got, wantKeys)
	}
	var sentKeys []string
	for _, m := range h.sent {
		sentKeys = append(sentKeys, m.IdempotencyKey)
		if m.RecipentUserID != "agent-2" {
			t.Errorf("message %s to %q", m.IdempotencyKey, m.RecipentUserID)
		}
	}
	if want := []string{"reminder:tkt:1", "reminder:tkt:2", "reminder:tkt:3", "breach-message:tkt:1", "breach-message:tkt:2"}; !reflect.DeepEqual(sentKeys, want) {
		t.Fatalf("sent %v, want %v", sentKeys, want)
	}
	var alerts []string
	for _, m := range h.published[1:] {
		alerts = append(alerts, m.(contracts.SLABreached).AlertKey)
	}
	if want := []string{"breach:tkt:1", "breach:tkt:2"}; !reflect.DeepEqual(alerts, want) {
		t.Fatalf("SLABreached %v, want %v", alerts, want)
	}
	if r := h.record(); r.Breaches != 2 || r.DeadlineMet == nil || *r.DeadlineMet {
		t.Fatalf("record after breaches: %+v", r)
	}
}

func TestSchedulerRepeatsAFailedActionWithTheSameKeys(t *testing.T) {
	h := newHarness(t)
	h.qualify()
	h.event(contracts.AgentAssignedToTicket{TicketID: "tkt", Version: 3, AssignedAgentUserID: "agent-2"})
	s := h.scheduler()
	h.clk.Set(t0.Add(15 * time.Second))

	h.sendErr = errors.New("communication down")
	if n, failed, err := s.RunOnce(t.Context()); n != 0 || failed != 1 || err != nil {
		t.Fatalf("send failure: performed %d failed %d err %v", n, failed, err)
	}
	// The message went out but the transaction failed (a crash before the
	// commit): the next scan sends it again with the same key and records it once.
	h.txErr = errors.New("crash before commit")
	if n, failed, _ := s.RunOnce(t.Context()); n != 0 || failed != 1 {
		t.Fatalf("tx failure: performed %d failed %d", n, failed)
	}
	if n, failed, err := s.RunOnce(t.Context()); n != 1 || failed != 0 || err != nil {
		t.Fatalf("retry: performed %d failed %d err %v", n, failed, err)
	}
	if got := h.effectKeys(); !reflect.DeepEqual(got, []string{"reminder:tkt:1"}) {
		t.Fatalf("sla_effects %v", got)
	}
	if len(h.sent) != 2 || h.sent[0].IdempotencyKey != "reminder:tkt:1" || h.sent[1] != h.sent[0] {
		t.Fatalf("sent %v: want the same keyed message twice", h.sent)
	}
	if !reflect.DeepEqual(h.effects, []string{"reminder:tkt:1"}) {
		t.Fatalf("committed effect keys %v", h.effects)
	}
}

func TestSchedulerBlockPausesAndUnblockShifts(t *testing.T) {
	h := newHarness(t)
	h.qualify()
	h.event(contracts.AgentAssignedToTicket{TicketID: "tkt", Version: 3, AssignedAgentUserID: "agent-2"})
	s := h.scheduler()
	h.clk.Set(t0.Add(20 * time.Second))
	if n, _, _ := s.RunOnce(t.Context()); n != 1 {
		t.Fatalf("first reminder: performed %d", n)
	}
	h.event(contracts.TicketBlocked{TicketID: "tkt", Version: 4})
	if _, ok, _ := NewSQLStore(h.db, h.cfg, h.clk).NextDueAt(t.Context()); ok {
		t.Fatal("a blocked ticket is still scheduled")
	}
	h.clk.Set(t0.Add(2 * time.Minute)) // far past the deadline, but blocked
	if n, _, _ := s.RunOnce(t.Context()); n != 0 {
		t.Fatalf("blocked ticket performed %d actions", n)
	}
	h.event(contracts.TicketUnblocked{TicketID: "tkt", Version: 5}) // blocked 100 s
	r := h.record()
	if r.Paused != 100*time.Second || !r.Deadline().Equal(t0.Add(160*time.Second)) || r.Revision != 2 {
		t.Fatalf("after unblock: paused %v deadline %v revision %d", r.Paused, r.Deadline().Sub(t0), r.Revision)
	}
	dc := h.published[len(h.published)-1].(contracts.DeadlinesCalculated)
	if dc.Revision != 2 || !dc.DeadlineUTC.Equal(t0.Add(160*time.Second)) {
		t.Fatalf("DeadlinesCalculated after unblock: %+v", dc)
	}
	next, ok, _ := NewSQLStore(h.db, h.cfg, h.clk).NextDueAt(t.Context())
	if !ok || !next.Equal(t0.Add(130*time.Second)) { // second reminder: 30 s + 100 s blocked
		t.Fatalf("next due %v ok=%v, want 2m10s", next.Sub(t0), ok)
	}
}

// TestSchedulerRunWakesOnTheFakeClock drives Run itself: it must sleep until
// the next due instant on the service clock and perform the action then.
func TestSchedulerRunWakesOnTheFakeClock(t *testing.T) {
	h := newHarness(t)
	h.qualify()
	h.event(contracts.AgentAssignedToTicket{TicketID: "tkt", Version: 3, AssignedAgentUserID: "agent-2"})
	s := h.scheduler()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		labtest.Eventually(t, 5*time.Second, func() error {
			if !cond() {
				return errors.New("not yet: " + what)
			}
			return nil
		})
	}
	sentCount := func() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.sent) }
	waitFor("the loop to sleep", func() bool { return h.clk.Waiters() > 0 })
	if sentCount() != 0 {
		t.Fatal("sent before anything was due")
	}
	h.clk.Set(t0.Add(15 * time.Second))
	waitFor("the first reminder", func() bool { return sentCount() == 1 })
	waitFor("the loop to sleep again", func() bool { return h.clk.Waiters() > 0 })
	h.clk.Set(t0.Add(30 * time.Second))
	waitFor("the second reminder", func() bool { return sentCount() == 2 })
}

// TestSchedulerWakesAtSubMillisecondDueTimes: due times are stored in whole
// milliseconds; a scan at the stored instant must find the action due.
func TestSchedulerWakesAtSubMillisecondDueTimes(t *testing.T) {
	h := newHarness(t)
	created := t0.Add(732745 * time.Nanosecond)
	h.event(contracts.TicketQualified{TicketID: "tkt", Version: 2, Type: contracts.TypeIncident,
		SeverityLevel: contracts.SeverityCritical, Email: "anna@devmentors.io", CreatedAt: created})
	h.event(contracts.AgentAssignedToTicket{TicketID: "tkt", Version: 3, AssignedAgentUserID: "agent-2"})
	next, ok, err := NewSQLStore(h.db, h.cfg, h.clk).NextDueAt(t.Context())
	if err != nil || !ok || next.Before(created.Add(15*time.Second)) || next.Sub(created.Add(15*time.Second)) >= time.Millisecond {
		t.Fatalf("next due %v (ok %v, err %v), want the first reminder at %v rounded up to the ms", next, ok, err, created.Add(15*time.Second))
	}
	h.clk.Set(next)
	if n, failed, err := h.scheduler().RunOnce(t.Context()); n != 1 || failed != 0 || err != nil {
		t.Fatalf("scan at the stored due instant: performed %d failed %d err %v", n, failed, err)
	}
}
