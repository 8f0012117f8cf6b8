// Package synth builds synthetic Ticketflow histories: a clean run in which
// every invariant holds, deterministic from a seed. Tests start from one and
// break it on purpose (a duplicated closure message, a lost ticket, a version
// applied out of order); the benchmark of `tflab verify` uses a large one.
//
// A clean run's broker holdings are drained: every queue empty, one consumer
// each; Hold records a message the broker still held at the end.
//
// The flows follow the original Ticketflow (spec §5): submit → InquirySubmitted
// → ticket → TicketCreated → link; non-English text → RequestTranslationV2 →
// TranslationCompleted; qualify → TicketQualified (+ IncidentCreated) → SLA
// deadline → DeadlinesCalculated; assign → AgentAssignedToTicket; resolve →
// TicketResolved → SLA completion and the customer's closure message.
//
// The SLA numbers are written out here on purpose rather than taken from the
// checker's oracle, so that a wrong oracle cannot agree with its own test data.
//
// # Best practices
//
//   - Build the smallest history that shows the case (Inquiries: 1..3), break
//     exactly one thing, and assert on the invariant and category you broke.
//   - Never share a generated history between tests that mutate it: call New.
package synth

import (
	"fmt"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// Config shapes a synthetic run.
type Config struct {
	Seed      uint64
	Inquiries int
	// Start is the run's base time; zero means 2026-01-05 10:00:00 UTC.
	Start time.Time
	// Gap between submissions; zero means 100 ms.
	Gap time.Duration
}

// Flow indexes what was generated for one inquiry.
type Flow struct {
	InquiryID   string
	Language    string
	Email       string
	Type        string // Incident | Question
	Severity    string
	Assigned    bool
	Resolved    bool
	SubmitTrace history.TraceID
}

// Result is a generated history plus the flows it contains. Snap is the
// history's Ticketflow snapshot (History.Snapshot.System): a test breaks it
// in place. History.Records hold the submissions first, in flow order, then
// the desk commands.
type Result struct {
	History *history.History
	Snap    *tfhistory.Snapshot
	Flows   []Flow
}

// Agents as seeded by the original Tickets service.
const (
	agentA = "00000000-0000-0000-0000-000000000002"
	agentB = "00000000-0000-0000-0000-000000000003"
)

type gen struct {
	rng  *rand.Rand
	h    *history.History
	snap *tfhistory.Snapshot
	subs []tfhistory.Submission
	cmds []tfhistory.Command
}

// New generates a clean history.
func New(cfg Config) Result {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	}
	if cfg.Gap <= 0 {
		cfg.Gap = 100 * time.Millisecond
	}
	g := &gen{
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		h: &history.History{
			Meta: history.Meta{
				SchemaVersion: history.SchemaVersion,
				Scenario:      "synthetic",
				Seed:          int64(cfg.Seed),
				Protections:   allOn(),
				Start:         cfg.Start,
			},
			Counters: map[string]float64{},
		},
	}
	g.snap = &tfhistory.Snapshot{}
	res := Result{History: g.h, Snap: g.snap}
	for i := range cfg.Inquiries {
		res.Flows = append(res.Flows, g.flow(i, cfg.Start.Add(time.Duration(i)*cfg.Gap)))
	}
	end := cfg.Start.Add(time.Duration(cfg.Inquiries)*cfg.Gap + 10*time.Second)
	g.h.Meta.End = end
	g.h.Snapshot.At = end
	g.h.Snapshot.Holdings = drained(end)
	g.h.Snapshot.System = history.NewSystemSnapshot(g.snap)
	g.h.Records = tfhistory.Records(g.subs, g.cmds)
	slices.SortStableFunc(g.h.Events, func(a, b history.Event) int { return a.Start.Compare(b.Start) })
	return res
}

func allOn() map[string]map[string]bool {
	p := map[string]map[string]bool{}
	for _, prot := range []string{"confirms", "outbox", "dedup", "ordering", "retries", "idempotency"} {
		p[prot] = map[string]bool{}
		for _, s := range []string{"inquiries", "tickets", "translations", "sla", "communication"} {
			p[prot][s] = true
		}
	}
	return p
}

func (g *gen) uuid() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func (g *gen) traceID() history.TraceID {
	var t history.TraceID
	for i := range t {
		t[i] = byte(g.rng.Uint32())
	}
	t[0] |= 1
	return t
}

func (g *gen) spanID() history.SpanID {
	var s history.SpanID
	for i := range s {
		s[i] = byte(g.rng.Uint32())
	}
	s[0] |= 1
	return s
}

// span appends an event and returns its index.
func (g *gen) span(e history.Event, at time.Time, dur time.Duration) *history.Event {
	e.SpanID = g.spanID()
	e.Start, e.End = at, at.Add(dur)
	g.h.Events = append(g.h.Events, e)
	return &g.h.Events[len(g.h.Events)-1]
}

// publish appends a publish span under parent and returns it (copy).
func (g *gen) publish(parent history.Event, service, msgType, aggregate string, version int64, at time.Time) history.Event {
	return *g.span(history.Event{
		Kind: history.KindPublish, Name: msgType + " publish", TraceID: parent.TraceID, ParentID: parent.SpanID,
		Service: service, Instance: service + "-1", MessageID: g.uuid(), MessageType: msgType,
		CorrelationID: parent.CorrelationID, CausationID: parent.MessageID, Destination: service + "-exchange",
		AggregateID: aggregate, AggregateVersion: version, PublishVia: via(service), Confirm: "ack",
	}, at, 2*time.Millisecond)
}

// process appends a handling of pub by service and returns it (copy).
func (g *gen) process(pub history.Event, service string, at time.Time, order string, effects ...string) history.Event {
	return *g.span(history.Event{
		Kind: history.KindProcess, Name: pub.MessageType + " process", TraceID: pub.TraceID, ParentID: pub.SpanID,
		Service: service, Instance: service + "-1", MessageID: pub.MessageID, MessageType: pub.MessageType,
		CorrelationID: pub.CorrelationID, CausationID: pub.CausationID, Destination: service + "-queue",
		AggregateID: pub.AggregateID, AggregateVersion: pub.AggregateVersion, Attempt: 1,
		Dedup: history.DedupProcessed, Order: order, Outcome: history.OutcomeAcked, EffectKeys: effects,
	}, at, 5*time.Millisecond)
}

// command appends a root command span of a new trace.
func (g *gen) command(service, name, correlation string, at time.Time) history.Event {
	return *g.span(history.Event{
		Kind: history.KindCommand, Name: name, TraceID: g.traceID(), Service: service, Instance: service + "-1",
		MessageID: g.uuid(), CorrelationID: correlation, Outcome: history.OutcomeAcked,
	}, at, 3*time.Millisecond)
}

var severities = []string{"Low", "Medium", "High", "Critical"}

// Durations of the SLA by tier (spec §2.4), written out independently of the checker.
var vip = map[string]time.Duration{"Low": 30 * time.Minute, "Medium": 15 * time.Minute, "High": 3 * time.Minute, "Critical": time.Minute}
var standard = map[string]time.Duration{"Low": 7 * 24 * time.Hour, "Medium": 3 * 24 * time.Hour, "High": 24 * time.Hour, "Critical": time.Hour}

func (g *gen) flow(i int, at time.Time) Flow {
	f := Flow{InquiryID: g.uuid(), Language: "en", Email: fmt.Sprintf("customer%d@example.com", i)}
	if i%4 == 3 {
		f.Language = "pl"
	}
	if i%3 == 0 {
		f.Email = fmt.Sprintf("customer%d@devmentors.io", i)
	}
	f.Type = []string{"Incident", "Question"}[i%2]
	f.Severity = severities[(i/2)%4]
	f.Assigned = i%5 != 4
	f.Resolved = i%2 == 0
	id := f.InquiryID
	ms := time.Millisecond

	// Submission flow.
	submit := g.command("inquiries", "POST /inquiries/submit", id, at)
	f.SubmitTrace = submit.TraceID
	g.subs = append(g.subs, tfhistory.Submission{
		InquiryID: id, At: at, Language: f.Language, Email: f.Email, Accepted: true, Status: 200, TraceID: submit.TraceID,
	})
	g.snap.Inquiries = append(g.snap.Inquiries, tfhistory.Inquiry{
		ID: id, Status: "New", TicketID: id, Email: f.Email, Language: f.Language, CreatedAt: at.Add(ms),
	})
	submitted := g.publish(submit, "inquiries", "InquirySubmitted", id, 0, at.Add(ms))
	created := at.Add(10 * ms)
	handled := g.process(submitted, "tickets", created, history.OrderOff, "ticket:"+id)
	ticketCreated := g.publish(handled, "tickets", "TicketCreated", id, 1, created.Add(ms))
	g.process(ticketCreated, "inquiries", created.Add(5*ms), history.OrderOff, "link:"+id)
	version := int64(1)
	t := tfhistory.Ticket{ID: id, Email: f.Email, Language: f.Language, CreatedAt: created, Status: "BeforeQualification"}
	if f.Language != "en" {
		req := g.publish(submit, "inquiries", "RequestTranslationV2", id, 0, at.Add(2*ms))
		tr := g.process(req, "translations", at.Add(20*ms), history.OrderOff)
		done := g.publish(tr, "translations", "TranslationCompleted", id, 0, at.Add(22*ms))
		g.process(done, "tickets", at.Add(30*ms), history.OrderOff, "translation:"+id)
		version++
		t.Translation = "This is Noop translation"
	}

	// Qualify.
	qAt := at.Add(200 * ms)
	qualify := g.command("tickets", "POST /tickets/qualify", id, qAt)
	g.cmds = append(g.cmds, tfhistory.Command{Kind: "qualify", TicketID: id, At: qAt, Accepted: true, Status: 200,
		Params: map[string]string{"type": f.Type, "severity": f.Severity}, TraceID: qualify.TraceID})
	version++
	qualified := g.publish(qualify, "tickets", "TicketQualified", id, version, qAt.Add(ms))
	t.Type, t.Severity, t.Status = f.Type, f.Severity, "Qualified"
	if f.Type == "Incident" {
		alert := g.publish(qualify, "tickets", "IncidentCreated", id, version, qAt.Add(2*ms))
		ah := g.process(alert, "communication", qAt.Add(8*ms), history.OrderOff, "incident:"+id)
		g.snap.Alerts = append(g.snap.Alerts, tfhistory.Alert{ID: g.uuid(), Type: tfhistory.AlertIncident, TicketID: id,
			Key: "incident:" + id, CreatedAt: ah.End})
	}
	slaQ := g.process(qualified, "sla", qAt.Add(10*ms), history.OrderApplied, "deadline:"+id)
	durations := standard
	if i%3 == 0 {
		durations = vip
	}
	deadline := created.Add(durations[f.Severity])
	rem := tfhistory.Reminder{TicketID: id, ServiceType: f.Type + "Ticket", LastKnownVersion: version, Deadline: &deadline}
	window := deadline.Sub(created)
	first, second := created.Add(window/4), created.Add(window/2)
	final := deadline.Add(-15 * time.Minute)
	if window < time.Hour {
		final = created.Add(window * 9 / 10)
	}
	rem.FirstAt, rem.SecondAt, rem.FinalAt = &first, &second, &final
	dc := g.publish(slaQ, "sla", "DeadlinesCalculated", id, 0, qAt.Add(12*ms))
	g.process(dc, "tickets", qAt.Add(20*ms), history.OrderOff, "deadline-set:"+id)
	version++ // SetCalculatedDeadline bumps the version; no event is published for it
	t.Deadline = &deadline

	if f.Assigned {
		aAt := at.Add(400 * ms)
		agent := []string{agentA, agentB}[i%2]
		assign := g.command("tickets", "POST /tickets/assign", id, aAt)
		g.cmds = append(g.cmds, tfhistory.Command{Kind: "assign", TicketID: id, At: aAt, Accepted: true, Status: 200,
			Params: map[string]string{"agent": agent}, TraceID: assign.TraceID})
		version++
		assigned := g.publish(assign, "tickets", "AgentAssignedToTicket", id, version, aAt.Add(ms))
		g.process(assigned, "sla", aAt.Add(10*ms), history.OrderApplied, "remind-user:"+id)
		rem.LastKnownVersion = version
		rem.UserToRemind = agent
		t.AssignedTo = agent
	}
	if f.Resolved {
		rAt := at.Add(600 * ms)
		resolve := g.command("tickets", "POST /tickets/resolve", id, rAt)
		g.cmds = append(g.cmds, tfhistory.Command{Kind: "resolve", TicketID: id, At: rAt, Accepted: true, Status: 200,
			Params: map[string]string{"resolution": "done"}, TraceID: resolve.TraceID})
		version++
		resolved := g.publish(resolve, "tickets", "TicketResolved", id, version, rAt.Add(ms))
		g.process(resolved, "sla", rAt.Add(10*ms), history.OrderApplied, "complete:"+id)
		closure := g.process(resolved, "communication", rAt.Add(12*ms), history.OrderOff, "closure:"+id)
		rem.LastKnownVersion = version
		rem.Completed = true
		t.Status, t.Resolution = "Resolved", "done"
		g.snap.Messages = append(g.snap.Messages, tfhistory.Message{ID: g.uuid(), Kind: tfhistory.MessageClosure,
			TicketID: id, Key: "closure:" + id, Recipient: f.Email, CreatedAt: closure.End})
	}
	t.Version = version
	g.snap.Tickets = append(g.snap.Tickets, t)
	g.snap.Reminders = append(g.snap.Reminders, rem)
	return f
}

// Consumers of the clean run's queues: each service consumes its queue
// (the Destination of its handlings) with prefetch 1 for SLA, 10 otherwise.
var queueConsumers = []string{"tickets", "inquiries", "translations", "communication", "sla"}

// drained is the broker's holdings of a clean run: every queue empty, one
// consumer each.
func drained(at time.Time) *history.Holdings {
	hd := &history.Holdings{At: at}
	for _, svc := range queueConsumers {
		prefetch := 10
		if svc == "sla" {
			prefetch = 1
		}
		hd.Queues = append(hd.Queues, history.QueueHolding{Queue: svc + "-queue",
			Consumers: []history.Consumer{{Service: svc, Connection: svc + "-1-consumer", Prefetch: prefetch}}})
	}
	return hd
}

// Hold records that queue still held msgs (ready, in this order) at the end
// of the run, plus unacked deliveries held since since (zero: unknown), and
// returns the queue's holding for further edits. The queue is added when the
// holdings lack it (with no consumer); holdings are created when missing.
func Hold(h *history.History, queue string, unacked int, since time.Time, msgs ...history.Event) *history.QueueHolding {
	if h.Snapshot.Holdings == nil {
		h.Snapshot.Holdings = &history.Holdings{At: h.Snapshot.At}
	}
	hd := h.Snapshot.Holdings
	i := slices.IndexFunc(hd.Queues, func(q history.QueueHolding) bool { return q.Queue == queue })
	if i < 0 {
		hd.Queues = append(hd.Queues, history.QueueHolding{Queue: queue})
		i = len(hd.Queues) - 1
	}
	q := &hd.Queues[i]
	q.Unacked += unacked
	if unacked > 0 && !since.IsZero() {
		q.UnackedSince = since
	}
	for _, e := range msgs {
		q.Ready++
		q.Messages = append(q.Messages, history.HeldMessage{MessageID: e.MessageID, Type: e.MessageType,
			CorrelationID: e.CorrelationID, AggregateID: e.AggregateID})
	}
	return q
}

// via is how a service publishes when its outbox is on: the original gives
// Inquiries and Translations no outbox.
func via(service string) string {
	switch service {
	case "inquiries", "translations":
		return "direct"
	}
	return "outbox"
}
