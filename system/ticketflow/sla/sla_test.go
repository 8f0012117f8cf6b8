package sla

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

var t0 = time.Date(2025, 2, 25, 10, 0, 0, 0, time.UTC)

type memStore struct {
	mu   sync.Mutex
	recs map[string]Record
}

func newMemStore() *memStore { return &memStore{recs: map[string]Record{}} }

func (m *memStore) Record(_ context.Context, id string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return &r, nil
}

func (m *memStore) SaveRecord(_ context.Context, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.TicketID] = *r
	return nil
}

// sim drives one ticket through the tracker and the scheduler on a fake clock.
type sim struct {
	t       *testing.T
	tr      *Tracker
	st      *memStore
	clk     *clock.Fake
	id      string
	version int
	sent    []sent
	out     []contracts.Message
}

type sent struct {
	key string
	at  time.Duration // since t0
}

func newSim(t *testing.T, cfg Config) *sim {
	t.Helper()
	tr, err := NewTracker(NewCatalog(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, tr: tr, st: newMemStore(), clk: clock.NewFake(t0), id: "tkt", version: 1}
}

func testConfig() Config {
	c := DefaultConfig()
	c.BreachDelay, c.BreachInterval = 10*time.Second, 10*time.Second
	return c
}

func (s *sim) event(build func(v int) contracts.Versioned) Outcome {
	s.t.Helper()
	s.version++
	out, msgs, err := s.tr.Handle(s.t.Context(), s.st, build(s.version), s.clk.Now())
	if err != nil {
		s.t.Fatalf("event v%d: %v", s.version, err)
	}
	s.out = append(s.out, msgs...)
	return out
}

func (s *sim) qualify(email string, typ contracts.TicketType, sev contracts.Severity) {
	s.event(func(v int) contracts.Versioned {
		return contracts.TicketQualified{TicketID: s.id, Version: v, Type: typ, SeverityLevel: sev, Email: email, CreatedAt: t0}
	})
}

func (s *sim) assign(user string) {
	s.event(func(v int) contracts.Versioned {
		return contracts.AgentAssignedToTicket{TicketID: s.id, Version: v, AssignedAgentUserID: user}
	})
}

func (s *sim) block() {
	s.event(func(v int) contracts.Versioned { return contracts.TicketBlocked{TicketID: s.id, Version: v} })
}
func (s *sim) unblock() {
	s.event(func(v int) contracts.Versioned { return contracts.TicketUnblocked{TicketID: s.id, Version: v} })
}
func (s *sim) resolve() {
	s.event(func(v int) contracts.Versioned { return contracts.TicketResolved{TicketID: s.id, Version: v} })
}

func (s *sim) rec() *Record {
	s.t.Helper()
	r, err := s.st.Record(s.t.Context(), s.id)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// runUntil jumps from due time to due time (NextDue) until t0+d, performing
// every due action exactly as a scheduler loop would.
func (s *sim) runUntil(d time.Duration) {
	s.t.Helper()
	end := t0.Add(d)
	for i := 0; i < 1000; i++ {
		r := s.rec()
		next, ok := NextDue(s.tr.Config, r, s.clk.Now())
		if !ok || next.After(end) {
			s.clk.Set(end)
			return
		}
		if next.After(s.clk.Now()) {
			s.clk.Set(next)
		}
		acts := Due(s.tr.Config, r, s.clk.Now())
		if len(acts) == 0 {
			s.t.Fatalf("NextDue said %v but nothing is due at %v", next.Sub(t0), s.clk.Now().Sub(t0))
		}
		for _, a := range acts {
			MarkDone(r, a, s.clk.Now())
			s.sent = append(s.sent, sent{a.Key, s.clk.Now().Sub(t0)})
		}
		if err := s.st.SaveRecord(s.t.Context(), r); err != nil {
			s.t.Fatal(err)
		}
	}
	s.t.Fatal("runUntil did not converge in 1000 steps")
}

func (s *sim) want(want ...sent) {
	s.t.Helper()
	if !reflect.DeepEqual(s.sent, want) {
		s.t.Fatalf("sent\n got %v\nwant %v", s.sent, want)
	}
}

func TestAgreements(t *testing.T) {
	cat := NewCatalog()
	tests := []struct {
		email string
		st    contracts.ServiceType
		sev   contracts.Severity
		want  time.Duration
		tier  Tier
	}{
		{"a@devmentors.io", contracts.ServiceIncidentTicket, contracts.SeverityLow, 30 * time.Minute, TierVIP},
		{"a@DevMentors.IO", contracts.ServiceQuestionTicket, contracts.SeverityMedium, 15 * time.Minute, TierVIP},
		{"a@devmentors.io", contracts.ServiceIncidentTicket, contracts.SeverityHigh, 3 * time.Minute, TierVIP},
		{"a@devmentors.io", contracts.ServiceQuestionTicket, contracts.SeverityCritical, time.Minute, TierVIP},
		{"a@example.com", contracts.ServiceIncidentTicket, contracts.SeverityLow, 7 * 24 * time.Hour, TierStandard},
		{"a@example.com", contracts.ServiceQuestionTicket, contracts.SeverityMedium, 3 * 24 * time.Hour, TierStandard},
		{"a@example.com", contracts.ServiceIncidentTicket, contracts.SeverityHigh, 24 * time.Hour, TierStandard},
		{"a@example.com", contracts.ServiceIncidentTicket, contracts.SeverityCritical, time.Hour, TierStandard},
		{"sub.devmentors.io@evil.com", contracts.ServiceIncidentTicket, contracts.SeverityCritical, time.Hour, TierStandard},
		{"no-at-sign", contracts.ServiceIncidentTicket, contracts.SeverityLow, 7 * 24 * time.Hour, TierStandard},
	}
	for _, tt := range tests {
		d, tier, ok := cat.Duration(tt.email, tt.st, tt.sev)
		if !ok || d != tt.want || tier != tt.tier {
			t.Errorf("%s %s %s: %v %s %v, want %v %s", tt.email, tt.st, tt.sev, d, tier, ok, tt.want, tt.tier)
		}
	}
	// A zero duration falls back to the default; an unknown service type has no deadline.
	partial := NewCatalog(Agreement{Domain: "acme.com", Tier: TierPremium, Deadlines: Deadlines{contracts.ServiceIncidentTicket: {contracts.SeverityLow: 0}}})
	if d, tier, ok := partial.Duration("x@acme.com", contracts.ServiceIncidentTicket, contracts.SeverityLow); !ok || d != 7*24*time.Hour || tier != TierStandard {
		t.Errorf("zero duration fallback: %v %s %v", d, tier, ok)
	}
	if _, _, ok := partial.Duration("x@acme.com", contracts.ServiceUnknown, contracts.SeverityLow); ok {
		t.Error("unknown service type got a deadline")
	}
	if err := NewCatalog(Agreement{CompanyName: "x"}).Validate(); err == nil {
		t.Error("agreement without domain accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Config){
		func(c *Config) { c.FirstAt = 0.6 },
		func(c *Config) { c.ShortFinalAt = 0.4 },
		func(c *Config) { c.BreachInterval = 0 },
		func(c *Config) { c.FinalLead = 40 * time.Minute },
	}
	for i, mod := range bad {
		c := DefaultConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}

// VIP critical incident: a one-minute window, the agent assigned at once.
func TestShortSLATimeline(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeIncident, contracts.SeverityCritical)
	if len(s.out) != 1 {
		t.Fatalf("published %v", s.out)
	}
	dc := s.out[0].(contracts.DeadlinesCalculated)
	if !dc.DeadlineUTC.Equal(t0.Add(time.Minute)) || dc.Revision != 1 || dc.ServiceType != contracts.ServiceIncidentTicket || dc.ServiceSourceID != "tkt" {
		t.Fatalf("DeadlinesCalculated = %+v", dc)
	}
	s.assign("agent-2")
	s.runUntil(95 * time.Second)
	s.resolve()
	s.runUntil(10 * time.Minute)
	s.want(
		sent{"reminder:tkt:1", 15 * time.Second},
		sent{"reminder:tkt:2", 30 * time.Second},
		sent{"reminder:tkt:3", 54 * time.Second}, // window < 1 h: final at 90 %
		sent{"breach:tkt:1", 70 * time.Second},   // deadline + BreachDelay
		sent{"breach:tkt:2", 80 * time.Second},   // then every BreachInterval
		sent{"breach:tkt:3", 90 * time.Second},
	)
	r := s.rec()
	if !r.Completed || r.DeadlineMet == nil || *r.DeadlineMet {
		t.Fatalf("resolved late: completed=%v met=%v", r.Completed, r.DeadlineMet)
	}
}

func TestLongWindowFinalReminderIsFifteenMinutesBeforeDeadline(t *testing.T) {
	s := newSim(t, DefaultConfig())
	s.qualify("x@example.com", contracts.TypeQuestion, contracts.SeverityCritical) // default: 1 h
	r := s.rec()
	cfg := s.tr.Config
	got := []time.Duration{r.ReminderAt(cfg, 0).Sub(t0), r.ReminderAt(cfg, 1).Sub(t0), r.ReminderAt(cfg, 2).Sub(t0)}
	if !reflect.DeepEqual(got, []time.Duration{15 * time.Minute, 30 * time.Minute, 45 * time.Minute}) {
		t.Fatalf("1 h window reminders at %v", got)
	}
	s2 := newSim(t, DefaultConfig())
	s2.qualify("x@example.com", contracts.TypeIncident, contracts.SeverityHigh) // 1 day
	r2 := s2.rec()
	if d := r2.Deadline().Sub(r2.ReminderAt(cfg, 2)); d != 15*time.Minute {
		t.Fatalf("final reminder %v before a 1-day deadline", d)
	}
	if r2.ReminderAt(cfg, 0).Sub(t0) != 6*time.Hour || r2.ReminderAt(cfg, 1).Sub(t0) != 12*time.Hour {
		t.Fatalf("1-day reminders at %v, %v", r2.ReminderAt(cfg, 0).Sub(t0), r2.ReminderAt(cfg, 1).Sub(t0))
	}
}

// VIP low: 30 min window. Blocked from 5 to 40 min: nothing fires while
// blocked, and everything after the unblock is shifted by 35 min.
func TestBlockPausesAndUnblockShifts(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeQuestion, contracts.SeverityLow)
	s.assign("agent-3")
	s.runUntil(5 * time.Minute)
	s.block()
	s.runUntil(40 * time.Minute) // past the original deadline (30 min) and breach time
	s.want()
	if _, ok := NextDue(s.tr.Config, s.rec(), s.clk.Now()); ok {
		t.Fatal("a blocked ticket has something due")
	}
	s.unblock()
	if len(s.out) != 2 {
		t.Fatalf("published %v", s.out)
	}
	dc := s.out[1].(contracts.DeadlinesCalculated)
	if !dc.DeadlineUTC.Equal(t0.Add(65*time.Minute)) || dc.Revision != 2 {
		t.Fatalf("shifted deadline = %+v", dc)
	}
	s.runUntil(65*time.Minute + 20*time.Second)
	s.want(
		sent{"reminder:tkt:1", 42*time.Minute + 30*time.Second}, // 7.5 + 35
		sent{"reminder:tkt:2", 50 * time.Minute},                // 15 + 35
		sent{"reminder:tkt:3", 62 * time.Minute},                // 27 + 35
		sent{"breach:tkt:1", 65*time.Minute + 10*time.Second},
		sent{"breach:tkt:2", 65*time.Minute + 20*time.Second},
	)
	if r := s.rec(); r.Paused != 35*time.Minute {
		t.Fatalf("paused %v", r.Paused)
	}
}

func TestBlockDuringBreachShiftsTheBreachTimer(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeIncident, contracts.SeverityCritical) // 1 min
	s.runUntil(75 * time.Second)                                                        // breach 1 at 70 s
	s.block()
	s.runUntil(5 * time.Minute)
	s.unblock() // blocked 225 s
	s.runUntil(5*time.Minute + 10*time.Second)
	s.want(
		sent{"breach:tkt:1", 70 * time.Second},
		sent{"breach:tkt:2", 80*time.Second + 225*time.Second},
	)
}

// No agent until after the second reminder's time: the agent gets the
// second reminder (not three at once), then the final one.
func TestLateAssignmentCollapsesOverdueReminders(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeQuestion, contracts.SeverityLow) // 30 min
	s.runUntil(20 * time.Minute)
	s.want()
	s.assign("agent-2")
	s.runUntil(29 * time.Minute)
	s.want(
		sent{"reminder:tkt:2", 20 * time.Minute},
		sent{"reminder:tkt:3", 27 * time.Minute},
	)
	if r := s.rec(); !r.ReminderSkipped[0] || r.ReminderSkipped[1] {
		t.Fatalf("skipped %v", r.ReminderSkipped)
	}
}

func TestNoRemindersAfterTheDeadline(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeIncident, contracts.SeverityHigh) // 3 min
	s.runUntil(4 * time.Minute)
	s.assign("agent-2")
	s.runUntil(4*time.Minute + 30*time.Second)
	s.want(
		sent{"breach:tkt:1", 3*time.Minute + 10*time.Second},
		sent{"breach:tkt:2", 3*time.Minute + 20*time.Second},
		sent{"breach:tkt:3", 3*time.Minute + 30*time.Second},
		sent{"breach:tkt:4", 3*time.Minute + 40*time.Second},
		sent{"breach:tkt:5", 3*time.Minute + 50*time.Second},
		sent{"breach:tkt:6", 4 * time.Minute},
		sent{"breach:tkt:7", 4*time.Minute + 10*time.Second},
		sent{"breach:tkt:8", 4*time.Minute + 20*time.Second},
		sent{"breach:tkt:9", 4*time.Minute + 30*time.Second},
	)
}

func TestResolvedInTimeMeetsTheDeadline(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeQuestion, contracts.SeverityMedium) // 15 min
	s.assign("agent-2")
	s.runUntil(5 * time.Minute)
	s.resolve()
	s.runUntil(time.Hour)
	s.want(sent{"reminder:tkt:1", 3*time.Minute + 45*time.Second})
	if r := s.rec(); r.DeadlineMet == nil || !*r.DeadlineMet {
		t.Fatalf("met = %v", r.DeadlineMet)
	}
}

func TestDueIsIdempotentPerKey(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeIncident, contracts.SeverityCritical)
	s.assign("agent-2")
	r := s.rec()
	now := t0.Add(16 * time.Second)
	acts := Due(s.tr.Config, r, now)
	if len(acts) != 1 || acts[0].Key != "reminder:tkt:1" {
		t.Fatalf("due %v", acts)
	}
	if again := Due(s.tr.Config, r, now); !reflect.DeepEqual(again, acts) {
		t.Fatal("Due is not pure")
	}
	MarkDone(r, acts[0], now)
	before := *r
	MarkDone(r, acts[0], now.Add(time.Second)) // a retried effect
	if !reflect.DeepEqual(*r, before) {
		t.Fatal("marking twice changed the record")
	}
	if got := Due(s.tr.Config, r, now); len(got) != 0 {
		t.Fatalf("still due after MarkDone: %v", got)
	}
	b := Action{Kind: RaiseBreach, N: 3}
	MarkDone(r, b, now) // out of order: ignored
	if r.Breaches != 0 {
		t.Fatal("breach 3 marked before 1")
	}
}

func TestHandleEvents(t *testing.T) {
	ctx := t.Context()
	tr, _ := NewTracker(NewCatalog(), testConfig())
	st := newMemStore()
	handle := func(ev contracts.Versioned) (Outcome, []contracts.Message, error) { return tr.Handle(ctx, st, ev, t0) }

	if out, _, err := handle(contracts.TicketCreated{ID: "a", Version: 1}); out != Ignored || err != nil {
		t.Fatalf("TicketCreated: %v %v", out, err)
	}
	if _, _, err := handle(contracts.AgentAssignedToTicket{TicketID: "a", Version: 3}); !errors.Is(err, ErrEarly) {
		t.Fatalf("assign before qualify: %v", err)
	}
	if _, _, err := handle(contracts.TicketQualified{TicketID: "a", Version: 2}); !errors.Is(err, ErrMissingTicketData) {
		t.Fatalf("qualified without data: %v", err)
	}
	q := contracts.TicketQualified{TicketID: "a", Version: 2, Type: contracts.TypeIncident, SeverityLevel: contracts.SeverityHigh, Email: "x@example.com", CreatedAt: t0}
	if out, msgs, err := handle(q); out != Applied || err != nil || len(msgs) != 1 {
		t.Fatalf("qualify: %v %v %v", out, msgs, err)
	}
	if out, msgs, _ := handle(q); out != Stale || len(msgs) != 0 {
		t.Fatalf("duplicate qualify: %v %v", out, msgs)
	}
	if out, _, _ := handle(contracts.IncidentCreated{TicketID: "a", Version: 3}); out != Applied {
		t.Fatalf("IncidentCreated: %v", out)
	}
	if out, _, _ := handle(contracts.TicketCreated{ID: "a", Version: 1}); out != Stale {
		t.Fatalf("late TicketCreated: %v", out)
	}
	if out, _, _ := handle(contracts.AgentAssignedToTicket{TicketID: "a", Version: 4, AssignedAgentUserID: "u"}); out != Applied {
		t.Fatal("assign not applied")
	}
	if out, _, _ := handle(contracts.AgentAssignedToTicket{TicketID: "a", Version: 4, AssignedAgentUserID: "other"}); out != Stale {
		t.Fatal("duplicate assign not stale")
	}
	if out, msgs, _ := handle(contracts.TicketUnblocked{TicketID: "a", Version: 5}); out != Applied || len(msgs) != 0 {
		t.Fatalf("unblock without block published %v", msgs)
	}
	r, _ := st.Record(ctx, "a")
	if r.AgentUserID != "u" || r.LastKnownVersion != 5 || r.Window != 24*time.Hour || r.Tier != TierStandard {
		t.Fatalf("record %+v", r)
	}
	if out, _, _ := handle(contracts.TicketResolved{TicketID: "never-qualified", Version: 2}); out != Ignored {
		t.Fatal("resolution of an unknown ticket not ignored")
	}
}

func TestEffects(t *testing.T) {
	msg, alert := Effects(Action{Kind: SendReminder, TicketID: "t", N: 3, Key: "reminder:t:3", AgentUserID: "u", ServiceType: contracts.ServiceIncidentTicket})
	if alert != nil || msg == nil || msg.Title != TitleFinalReminder || msg.RecipentUserID != "u" || msg.IdempotencyKey != "reminder:t:3" || !strings.Contains(msg.Content, "Ticket - Incydent") {
		t.Fatalf("final reminder: %+v %+v", msg, alert)
	}
	msg, alert = Effects(Action{Kind: RaiseBreach, TicketID: "t", N: 2, Key: "breach:t:2", ServiceType: contracts.ServiceQuestionTicket})
	if msg != nil || alert == nil || alert.AlertType != contracts.AlertSLA || alert.AlertKey != "breach:t:2" || alert.AlertMessageContent != "SLA niespełnione dla [Ticket - Pytanie]: t" {
		t.Fatalf("breach without agent: %+v %+v", msg, alert)
	}
	msg, _ = Effects(Action{Kind: RaiseBreach, TicketID: "t", N: 2, Key: "breach:t:2", AgentUserID: "u", ServiceType: contracts.ServiceQuestionTicket})
	if msg == nil || msg.Title != TitleBreach || msg.IdempotencyKey != "breach-message:t:2" {
		t.Fatalf("breach message: %+v", msg)
	}
	b, _ := json.Marshal(msg)
	if !strings.Contains(string(b), `"recipentUserId":"u"`) {
		t.Fatalf("message JSON %s", b)
	}
}

func TestHTTPDeadlineReminders(t *testing.T) {
	s := newSim(t, testConfig())
	s.qualify("anna@devmentors.io", contracts.TypeIncident, contracts.SeverityCritical)
	s.assign("agent-2")
	s.runUntil(20 * time.Second)
	srv := httptest.NewServer(NewHandler(s.tr.Config, s.st, nil))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/sla/IncidentTicket/tkt/deadline-reminders")
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil {
		t.Fatalf("%d %s", code, body)
	}
	if v["firstReminderSent"] != true || v["secondReminderSent"] != false || v["userIdToRemind"] != "agent-2" ||
		v["deadlineDateUtc"] != "2025-02-25T10:01:00Z" || v["serviceLastKnownVersion"] != float64(3) {
		t.Fatalf("view %v", v)
	}
	if code, _ := get("/sla/QuestionTicket/tkt/deadline-reminders"); code != 404 {
		t.Fatalf("wrong type: %d", code)
	}
	if code, _ := get("/sla/Invoice/tkt/deadline-reminders"); code != 400 {
		t.Fatalf("bad type: %d", code)
	}
	if code, _ := get("/sla/IncidentTicket/none/deadline-reminders"); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	_ = http.StatusOK
}
