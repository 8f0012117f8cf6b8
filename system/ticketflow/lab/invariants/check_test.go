package invariants_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/check/checktest"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
)

func ticketOf(t *testing.T, h *history.History, id string) *tfhistory.Ticket {
	t.Helper()
	for i := range tf(h).Tickets {
		if tf(h).Tickets[i].ID == id {
			return &tf(h).Tickets[i]
		}
	}
	t.Fatalf("no ticket %s", id)
	return nil
}

func reminderOf(t *testing.T, h *history.History, id string) *tfhistory.Reminder {
	t.Helper()
	for i := range tf(h).Reminders {
		if tf(h).Reminders[i].TicketID == id {
			return &tf(h).Reminders[i]
		}
	}
	t.Fatalf("no SLA record for %s", id)
	return nil
}

type invariantCase struct {
	name   string
	inv    string
	mutate func(t *testing.T, r synth.Result)
	want   Status
	cat    Category // a violation of this category must be present (when want is Violated)
	note   Category // a note of this category must be present
}

func runCases(t *testing.T, cases []invariantCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := synth.SixFlows(t)
			if tc.mutate != nil {
				tc.mutate(t, res)
			}
			v := Evaluate(res.History, invariants.All...)
			checktest.SameVerdictFromDisk(t, res.History, v, invariants.All...)
			r, ok := v.Result(tc.inv)
			if !ok {
				t.Fatalf("no result for %s", tc.inv)
			}
			if r.Status != tc.want {
				t.Fatalf("%s = %s, want %s; reason %q; violations %v", tc.inv, r.Status, tc.want, r.Reason, r.Violations)
			}
			if tc.want == Violated {
				if !errors.Is(r.Err(), r.Invariant.Err) {
					t.Errorf("Err() = %v does not wrap the %s sentinel", r.Err(), tc.inv)
				}
				found := false
				for _, viol := range r.Violations {
					if viol.Category == tc.cat {
						found = true
						if len(viol.MessageIDs) == 0 && len(viol.TraceIDs) == 0 && tc.cat != Lost && tc.cat != Unexpected && tc.cat != DuplicatedEffect {
							t.Errorf("violation names no message or trace id: %s", viol)
						}
					}
				}
				if !found {
					t.Errorf("no %q violation in %v", tc.cat, r.Violations)
				}
				if v.Outcome != OutcomeFail || v.ExitCode != ExitViolated {
					t.Errorf("verdict %s/%d, want FAIL/4", v.Outcome, v.ExitCode)
				}
			} else if r.Err() != nil {
				t.Errorf("Err() = %v for %s", r.Err(), r.Status)
			}
			if tc.note != "" {
				found := false
				for _, n := range r.Notes {
					found = found || (n.Category == tc.note && n.Count > 0)
				}
				if !found {
					t.Errorf("no %q note in %v", tc.note, r.Notes)
				}
			}
		})
	}
}

func TestNoLostInquiry(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "NoLostInquiry – every accepted inquiry stored and ticketed – pass", inv: "TF1", want: Pass},
		{name: "NoLostInquiry – accepted inquiry missing from the database – fail", inv: "TF1", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) {
				tf(r.History).Inquiries = tf(r.History).Inquiries[1:]
			}},
		{name: "NoLostInquiry – stored inquiry never became a ticket – fail", inv: "TF1", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) {
				tf(r.History).Tickets = tf(r.History).Tickets[1:]
			}},
		{name: "NoLostInquiry – ticket missing but InquirySubmitted dead-lettered and in the DLQ – pass", inv: "TF1", want: Pass, note: Accounted,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[0].InquiryID
				tf(h).Tickets = tf(h).Tickets[1:]
				e := synth.Find(t, h, history.KindProcess, "tickets", "InquirySubmitted", id)
				e.Outcome = history.OutcomeDeadLettered
				h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "tickets",
					Queue: "inquiry-submitted-dlq", MessageID: e.MessageID, MessageType: "InquirySubmitted", Reason: "rejected"})
			}},
		{name: "NoLostInquiry – failed submission stored anyway – pass (recovered)", inv: "TF1", want: Pass, note: Recovered,
			mutate: func(t *testing.T, r synth.Result) {
				r.History.Records[2].Accepted, r.History.Records[2].Status = false, 503
			}},
		{name: "NoLostInquiry – inquiry nobody submitted – fail", inv: "TF1", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				tf(r.History).Inquiries = append(tf(r.History).Inquiries, tfhistory.Inquiry{ID: "stranger", Status: "New"})
			}},
		{name: "NoLostInquiry – nothing submitted – inconclusive", inv: "TF1", want: Inconclusive,
			mutate: func(t *testing.T, r synth.Result) { r.History.Records = nil }},
	})
}

func TestExactlyOnceEffects(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "ExactlyOnceEffects – one effect each – pass", inv: "TF2", want: Pass},
		{name: "ExactlyOnceEffects – closure message written twice – fail", inv: "TF2", want: Violated, cat: DuplicatedEffect,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				for _, m := range tf(h).Messages {
					if m.Kind == tfhistory.MessageClosure {
						m.ID += "-dup"
						tf(h).Messages = append(tf(h).Messages, m)
						return
					}
				}
				t.Fatal("no closure message")
			}},
		{name: "ExactlyOnceEffects – resolved ticket without closure message – fail", inv: "TF2", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				tf(h).Messages = tf(h).Messages[1:]
			}},
		{name: "ExactlyOnceEffects – redelivery applied the effect again – fail", inv: "TF2", want: Violated, cat: DuplicatedEffect,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", r.Flows[0].InquiryID)
				synth.Again(h, e, 50*time.Millisecond, func(c *history.Event) { c.Redelivered = true; c.Dedup = history.DedupOff })
			}},
		{name: "ExactlyOnceEffects – redelivery skipped by the inbox – pass (duplicated delivery, redelivered)", inv: "TF2", want: Pass,
			note: DuplicatedDeliveryRedelivered,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", r.Flows[0].InquiryID)
				synth.Again(h, e, 50*time.Millisecond, func(c *history.Event) { c.Redelivered = true; c.Dedup = history.DedupDuplicate })
			}},
		{name: "ExactlyOnceEffects – duplicate publish skipped by the inbox – pass (duplicated delivery, not redelivered)", inv: "TF2", want: Pass,
			note: DuplicatedDelivery,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "sla", "TicketQualified", r.Flows[1].InquiryID)
				synth.Again(h, e, 50*time.Millisecond, func(c *history.Event) { c.Dedup = history.DedupDuplicate })
			}},
		{name: "ExactlyOnceEffects – incident alert stored twice – fail", inv: "TF2", want: Violated, cat: DuplicatedEffect,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				a := tf(h).Alerts[0]
				a.ID += "-dup"
				tf(h).Alerts = append(tf(h).Alerts, a)
			}},
		{name: "ExactlyOnceEffects – deadline calculated twice under two message ids – fail", inv: "TF2", want: Violated, cat: DuplicatedEffect,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindPublish, "sla", "DeadlinesCalculated", r.Flows[3].InquiryID)
				synth.Again(h, e, time.Second, func(c *history.Event) { c.MessageID += "-second" })
			}},
		{name: "ExactlyOnceEffects – a new deadline revision after an unblock – pass", inv: "TF2", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindPublish, "sla", "DeadlinesCalculated", r.Flows[3].InquiryID)
				synth.Again(h, e, time.Second, func(c *history.Event) { c.MessageID += "-rev2"; c.AggregateVersion++ })
			}},
		{name: "ExactlyOnceEffects – deadline republished under the same message id – pass", inv: "TF2", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindPublish, "sla", "DeadlinesCalculated", r.Flows[3].InquiryID)
				synth.Again(h, e, time.Second, func(c *history.Event) { c.Republish = 1 })
			}},
		{name: "ExactlyOnceEffects – reminder #1 sent twice – fail", inv: "TF2", want: Violated, cat: DuplicatedEffect,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[1].InquiryID
				reminderOf(t, h, id).FirstSent = true
				for range 2 {
					tf(h).Messages = append(tf(h).Messages, tfhistory.Message{ID: "r1-" + time.Now().String(),
						Kind: tfhistory.MessageReminder, Reminder: 1, TicketID: id})
				}
			}},
		{name: "ExactlyOnceEffects – reminder marked sent but not in the inbox – fail", inv: "TF2", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) {
				reminderOf(t, r.History, r.Flows[1].InquiryID).SecondSent = true
			}},
		{name: "ExactlyOnceEffects – no closure but TicketResolved dead-lettered – pass (accounted)", inv: "TF2", want: Pass, note: Accounted,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[0].InquiryID
				tf(h).Messages = tf(h).Messages[1:]
				e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", id)
				e.Outcome = history.OutcomeDeadLettered
				h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "communication",
					Queue: "communication-ticket-resolved-dlq", MessageID: e.MessageID, MessageType: "TicketResolved"})
			}},
	})
}

func TestSLAVersionOrder(t *testing.T) {
	// swap makes AgentAssignedToTicket commit before TicketQualified in SLA.
	swap := func(t *testing.T, r synth.Result, redelivered bool, order string) {
		h := r.History
		id := r.Flows[1].InquiryID
		q := synth.Find(t, h, history.KindProcess, "sla", "TicketQualified", id)
		a := synth.Find(t, h, history.KindProcess, "sla", "AgentAssignedToTicket", id)
		q.Start, q.End = a.End.Add(time.Millisecond), a.End.Add(5*time.Millisecond)
		q.Redelivered = redelivered
		q.Order = order
	}
	runCases(t, []invariantCase{
		{name: "SLAVersionOrder – versions applied in order – pass", inv: "TF3", want: Pass},
		{name: "SLAVersionOrder – assignment applied before qualification – fail", inv: "TF3", want: Violated, cat: OutOfOrder,
			mutate: func(t *testing.T, r synth.Result) { swap(t, r, false, history.OrderOff) }},
		{name: "SLAVersionOrder – late version was a redelivery – fail (out of order, redelivered)", inv: "TF3", want: Violated,
			cat:    OutOfOrderRedelivered,
			mutate: func(t *testing.T, r synth.Result) { swap(t, r, true, history.OrderOff) }},
		{name: "SLAVersionOrder – late version skipped by the ordering guard – pass", inv: "TF3", want: Pass,
			mutate: func(t *testing.T, r synth.Result) { swap(t, r, false, history.OrderStale) }},
		{name: "SLAVersionOrder – one version applied twice – fail", inv: "TF3", want: Violated, cat: OutOfOrder,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "sla", "AgentAssignedToTicket", r.Flows[5].InquiryID)
				synth.Again(h, e, 20*time.Millisecond, func(c *history.Event) { c.Dedup = history.DedupOff; c.Order = history.OrderOff })
			}},
		{name: "SLAVersionOrder – versioned events published but no SLA handling recorded – inconclusive", inv: "TF3", want: Inconclusive,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				kept := h.Events[:0]
				for _, e := range h.Events {
					if !(e.Kind == history.KindProcess && e.Service == "sla") {
						kept = append(kept, e)
					}
				}
				h.Events = kept
			}},
	})
}

func TestTranslationCompleteness(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "TranslationCompleteness – Polish ticket translated – pass", inv: "TF4", want: Pass},
		{name: "TranslationCompleteness – Polish ticket without translation – fail", inv: "TF4", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) { ticketOf(t, r.History, r.Flows[3].InquiryID).Translation = "" }},
		{name: "TranslationCompleteness – Polish ticket still waiting – fail", inv: "TF4", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) {
				tk := ticketOf(t, r.History, r.Flows[3].InquiryID)
				tk.Translation, tk.Status = "", "WaitingForScheduledAction"
			}},
		{name: "TranslationCompleteness – English ticket waiting for a translation – fail", inv: "TF4", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				ticketOf(t, r.History, r.Flows[1].InquiryID).Status = "WaitingForScheduledAction"
			}},
	})
}

func TestOracleLiterals(t *testing.T) {
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(h, m, s int) time.Time { return time.Date(2026, 3, 1, h, m, s, 0, time.UTC) }
	cases := []struct {
		name, email, severity string
		want                  invariants.Schedule
	}{
		// VIP Critical: 1 min window < 1 h → final at 90 %.
		{"VIP critical", "ann@devmentors.io", "Critical", invariants.Schedule{at(10, 1, 0), at(10, 0, 15), at(10, 0, 30), at(10, 0, 54)}},
		// VIP Low: 30 min window → 7.5, 15, 27 min.
		{"VIP low", "ann@devmentors.io", "Low", invariants.Schedule{at(10, 30, 0), at(10, 7, 30), at(10, 15, 0), at(10, 27, 0)}},
		// Standard Critical: exactly 1 h is not under an hour → deadline − 15 min.
		{"standard critical", "bob@example.com", "Critical", invariants.Schedule{at(11, 0, 0), at(10, 15, 0), at(10, 30, 0), at(10, 45, 0)}},
		// Standard Low: 7 days.
		{"standard low", "bob@example.com", "Low", invariants.Schedule{
			created.Add(7 * 24 * time.Hour), created.Add(42 * time.Hour), created.Add(84 * time.Hour),
			created.Add(7*24*time.Hour - 15*time.Minute)}},
		// The domain must match exactly: a subdomain is not the VIP customer.
		{"subdomain is standard", "eve@mail.devmentors.io", "High", invariants.Schedule{
			created.Add(24 * time.Hour), created.Add(6 * time.Hour), created.Add(12 * time.Hour), created.Add(24*time.Hour - 15*time.Minute)}},
	}
	for _, tc := range cases {
		got, ok := invariants.Oracle(created, time.Time{}, tc.email, tc.severity)
		if !ok || got != tc.want {
			t.Errorf("%s: Oracle = %+v, %t; want %+v", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := invariants.Oracle(created, time.Time{}, "a@b.c", "Urgent"); ok {
		t.Error("unknown severity accepted")
	}
	// An explicit anchor moves the reminders, not the deadline.
	got, _ := invariants.Oracle(created, at(10, 0, 20), "ann@devmentors.io", "Critical")
	if got.Deadline != at(10, 1, 0) || got.First != at(10, 0, 30) || got.Final != at(10, 0, 56) {
		t.Errorf("anchored schedule %+v", got)
	}
}

func TestSLAOracle(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "SLAOracle – every record matches – pass", inv: "TF5", want: Pass},
		{name: "SLAOracle – deadline one minute late – fail", inv: "TF5", want: Violated, cat: Mismatch,
			mutate: func(t *testing.T, r synth.Result) {
				rec := reminderOf(t, r.History, r.Flows[2].InquiryID)
				d := rec.Deadline.Add(time.Minute)
				rec.Deadline = &d
			}},
		{name: "SLAOracle – final reminder before the request (original quirk) – fail", inv: "TF5", want: Violated, cat: Mismatch,
			mutate: func(t *testing.T, r synth.Result) {
				tk := ticketOf(t, r.History, r.Flows[1].InquiryID)
				rec := reminderOf(t, r.History, tk.ID)
				f := tk.CreatedAt.Add(-15 * time.Minute)
				rec.FinalAt = &f
			}},
		{name: "SLAOracle – Tickets clock 20 min ahead, deadline consistent with it – fail", inv: "TF5", want: Violated, cat: Mismatch,
			mutate: func(t *testing.T, r synth.Result) {
				tk := ticketOf(t, r.History, r.Flows[4].InquiryID)
				rec := reminderOf(t, r.History, tk.ID)
				skew := 20 * time.Minute
				tk.CreatedAt = tk.CreatedAt.Add(skew)
				for _, p := range []**time.Time{&rec.Deadline, &rec.FirstAt, &rec.SecondAt, &rec.FinalAt, &tk.Deadline} {
					v := (*p).Add(skew)
					*p = &v
				}
			}},
		{name: "SLAOracle – blocked 10 min, whole schedule shifted – pass", inv: "TF5", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[1].InquiryID
				rec := reminderOf(t, h, id)
				rec.Paused = history.Duration(10 * time.Minute)
				for _, p := range []**time.Time{&rec.Deadline, &rec.FirstAt, &rec.SecondAt, &rec.FinalAt} {
					v := (*p).Add(10 * time.Minute)
					*p = &v
				}
				ticketOf(t, h, id).Deadline = rec.Deadline
				h.Records = append(h.Records, history.Record{Kind: "block", ID: id, Accepted: true})
			}},
		{name: "SLAOracle – SLA clock paused for a ticket never blocked – fail", inv: "TF5", want: Violated, cat: Mismatch,
			mutate: func(t *testing.T, r synth.Result) {
				rec := reminderOf(t, r.History, r.Flows[1].InquiryID)
				rec.Paused = history.Duration(10 * time.Minute)
				for _, p := range []**time.Time{&rec.Deadline, &rec.FirstAt, &rec.SecondAt, &rec.FinalAt} {
					v := (*p).Add(10 * time.Minute)
					*p = &v
				}
			}},
		{name: "SLAOracle – qualified tickets but no SLA snapshot – inconclusive", inv: "TF5", want: Inconclusive,
			mutate: func(t *testing.T, r synth.Result) { tf(r.History).Reminders = nil }},
	})
}

func TestConvergence(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "CrossServiceConvergence – services agree – pass", inv: "TF6", want: Pass},
		{name: "CrossServiceConvergence – inquiry never linked – fail", inv: "TF6", want: Violated, cat: Diverged,
			mutate: func(t *testing.T, r synth.Result) { tf(r.History).Inquiries[1].TicketID = "" }},
		{name: "CrossServiceConvergence – Tickets never stored the SLA deadline – fail", inv: "TF6", want: Violated, cat: Diverged,
			mutate: func(t *testing.T, r synth.Result) { ticketOf(t, r.History, r.Flows[1].InquiryID).Deadline = nil }},
		{name: "CrossServiceConvergence – SLA behind the last published version – fail", inv: "TF6", want: Violated, cat: Diverged,
			mutate: func(t *testing.T, r synth.Result) { reminderOf(t, r.History, r.Flows[5].InquiryID).LastKnownVersion-- }},
		{name: "CrossServiceConvergence – SLA behind but the last event is in the DLQ – pass (accounted)", inv: "TF6", want: Pass,
			note: Accounted,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[5].InquiryID
				rec := reminderOf(t, h, id)
				rec.LastKnownVersion--
				rec.UserToRemind = ticketOf(t, h, id).AssignedTo
				e := synth.Find(t, h, history.KindProcess, "sla", "AgentAssignedToTicket", id)
				e.Outcome = history.OutcomeDeadLettered
				h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "sla", MessageID: e.MessageID,
					MessageType: e.MessageType, Queue: "sla-ticket-changes-dlq"})
			}},
		{name: "CrossServiceConvergence – qualified ticket unknown to SLA – fail", inv: "TF6", want: Violated, cat: Diverged,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[1].InquiryID
				ticketOf(t, h, id).Deadline = nil
				kept := tf(h).Reminders[:0]
				for _, rec := range tf(h).Reminders {
					if rec.TicketID != id {
						kept = append(kept, rec)
					}
				}
				tf(h).Reminders = kept
			}},
		{name: "CrossServiceConvergence – resolved ticket still open in SLA – fail", inv: "TF6", want: Violated, cat: Diverged,
			mutate: func(t *testing.T, r synth.Result) { reminderOf(t, r.History, r.Flows[0].InquiryID).Completed = false }},
	})
}

func TestNoGhostEvents(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "NoGhostEvents – every publish backed by a commit – pass", inv: "TF7", want: Pass},
		{name: "NoGhostEvents – TicketCreated published by a handling that rolled back – fail", inv: "TF7", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				synth.Find(t, r.History, history.KindProcess, "tickets", "InquirySubmitted", r.Flows[2].InquiryID).Outcome = history.OutcomeRetried
			}},
		{name: "NoGhostEvents – failure after the commit (tx committed) – pass", inv: "TF7", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				e := synth.Find(t, r.History, history.KindProcess, "tickets", "InquirySubmitted", r.Flows[2].InquiryID)
				e.Outcome, e.Tx = history.OutcomeRetried, history.TxCommitted
			}},
		{name: "NoGhostEvents – publish of a rolled-back execution nacked by the broker – pass", inv: "TF7", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				synth.Find(t, h, history.KindProcess, "tickets", "InquirySubmitted", r.Flows[2].InquiryID).Outcome = history.OutcomeFailed
				synth.Find(t, h, history.KindPublish, "tickets", "TicketCreated", r.Flows[2].InquiryID).Confirm = "nack"
			}},
		{name: "NoGhostEvents – publish of a rolled-back execution that never got a channel – pass", inv: "TF7", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				synth.Find(t, h, history.KindProcess, "tickets", "InquirySubmitted", r.Flows[2].InquiryID).Outcome = history.OutcomeFailed
				p := synth.Find(t, h, history.KindPublish, "tickets", "TicketCreated", r.Flows[2].InquiryID)
				p.Confirm, p.Error = "", "publish channel: context canceled"
			}},
		{name: "NoGhostEvents – publish of a rolled-back execution whose confirm timed out – fail", inv: "TF7", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				synth.Find(t, h, history.KindProcess, "tickets", "InquirySubmitted", r.Flows[2].InquiryID).Outcome = history.OutcomeFailed
				p := synth.Find(t, h, history.KindPublish, "tickets", "TicketCreated", r.Flows[2].InquiryID)
				p.Confirm, p.Error = history.ConfirmTimeout, "not confirmed"
			}},
		{name: "NoGhostEvents – dead-letter copy made by the failing handling – pass", inv: "TF7", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", r.Flows[0].InquiryID)
				e.Outcome, e.EffectKeys = history.OutcomeDeadLettered, nil
				p := synth.Find(t, h, history.KindPublish, "tickets", "TicketResolved", r.Flows[0].InquiryID)
				synth.Again(h, p, 20*time.Millisecond, func(c *history.Event) {
					c.Service, c.ParentID, c.PublishVia = "communication", e.SpanID, history.ViaDeadLetter
				})
				tf(h).Messages = tf(h).Messages[1:]
				h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "communication",
					Queue: "communication-ticket-resolved-dlq", MessageID: e.MessageID, MessageType: "TicketResolved"})
			}},
		{name: "NoGhostEvents – Fault.<T> announced by a dead-lettered handling – pass", inv: "TF7", want: Pass,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", r.Flows[0].InquiryID)
				e.Outcome, e.EffectKeys = history.OutcomeDeadLettered, nil
				p := synth.Find(t, h, history.KindPublish, "tickets", "TicketResolved", r.Flows[0].InquiryID)
				synth.Again(h, p, 20*time.Millisecond, func(c *history.Event) {
					c.Service, c.ParentID, c.PublishVia = "communication", e.SpanID, history.ViaDeadLetter
				})
				synth.Again(h, p, 30*time.Millisecond, func(c *history.Event) {
					c.Service, c.ParentID, c.MessageType, c.MessageID = "communication", e.SpanID, "Fault.TicketResolved", "fault-1"
					c.Destination, c.SpanID[5] = "faults", c.SpanID[5]+1 // not the dead-letter copy's span id
				})
				tf(h).Messages = tf(h).Messages[1:]
				h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "communication",
					Queue: "communication-ticket-resolved-dlq", MessageID: e.MessageID, MessageType: "TicketResolved"})
			}},
		{name: "NoGhostEvents – Fault.<T> published by a handling that was only retried – fail", inv: "TF7", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", r.Flows[0].InquiryID)
				e.Outcome = history.OutcomeRetried
				p := synth.Find(t, h, history.KindPublish, "tickets", "TicketResolved", r.Flows[0].InquiryID)
				synth.Again(h, p, 30*time.Millisecond, func(c *history.Event) {
					c.Service, c.ParentID, c.MessageType, c.MessageID = "communication", e.SpanID, "Fault.TicketResolved", "fault-1"
					c.Destination = "faults"
				})
			}},
		{name: "NoGhostEvents – TicketQualified announces a version Tickets never reached – fail", inv: "TF7", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				synth.Find(t, r.History, history.KindPublish, "tickets", "TicketQualified", r.Flows[1].InquiryID).AggregateVersion = 42
			}},
		{name: "NoGhostEvents – DeadlinesCalculated for a ticket SLA does not have – fail", inv: "TF7", want: Violated, cat: Unexpected,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[1].InquiryID
				kept := tf(h).Reminders[:0]
				for _, rec := range tf(h).Reminders {
					if rec.TicketID != id {
						kept = append(kept, rec)
					}
				}
				tf(h).Reminders = kept
			}},
	})
}

// poison makes the communication handling of TicketResolved for flow 0 fail
// n times before its final outcome.
func poison(t *testing.T, r synth.Result, failures int, final string, inDLQ bool) {
	h := r.History
	e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", r.Flows[0].InquiryID)
	base := *e
	e.Outcome = history.OutcomeRetried
	e.EffectKeys = nil
	for i := 1; i < failures; i++ {
		synth.Again(h, &base, time.Duration(i)*10*time.Millisecond, func(c *history.Event) {
			c.Outcome, c.Redelivered, c.Attempt, c.EffectKeys = history.OutcomeRetried, true, i+1, nil
			c.SpanID[5] = byte(i)
		})
	}
	synth.Again(h, &base, time.Duration(failures)*10*time.Millisecond, func(c *history.Event) {
		c.Outcome, c.Redelivered, c.Attempt = final, true, failures+1
		c.SpanID[5] = byte(failures)
		if final != history.OutcomeAcked {
			c.EffectKeys = nil
		}
	})
	if inDLQ {
		h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "communication",
			Queue: "communication-ticket-resolved-dlq", MessageID: base.MessageID, MessageType: "TicketResolved", Reason: "rejected"})
	}
}

// lastAttemptTwice poisons flow 0's TicketResolved in communication up to
// the limit (four attempts, the last dead-lettered), the last attempt's copy
// arriving as a fresh publish as the retry copies do, and adds a second
// delivery of that attempt, also dead-lettered: without the redelivered flag
// (the retry publish was republished after a late confirm) or with it (the
// broker redelivered it).
func lastAttemptTwice(t *testing.T, r synth.Result, redelivered bool) {
	poison(t, r, 3, history.OutcomeDeadLettered, true)
	h := r.History
	last := &h.Events[len(h.Events)-1]
	if last.Outcome != history.OutcomeDeadLettered || last.Attempt != 4 {
		t.Fatalf("poison's last handling is %s attempt %d, want dead-lettered attempt 4", last.Outcome, last.Attempt)
	}
	last.Redelivered = false
	synth.Again(h, last, 50*time.Millisecond, func(c *history.Event) {
		c.Redelivered = redelivered
		c.SpanID[5] = 9
	})
}

func TestBoundedRedelivery(t *testing.T) {
	runCases(t, []invariantCase{
		{name: "BoundedRedelivery – nothing failed – pass", inv: "TF8", want: Pass},
		{name: "BoundedRedelivery – two failures then acked – pass", inv: "TF8", want: Pass,
			mutate: func(t *testing.T, r synth.Result) { poison(t, r, 2, history.OutcomeAcked, false) }},
		{name: "BoundedRedelivery – three retries then dead-lettered and in the DLQ – pass", inv: "TF8", want: Pass,
			mutate: func(t *testing.T, r synth.Result) { poison(t, r, 3, history.OutcomeDeadLettered, true) }},
		{name: "BoundedRedelivery – failed nine times (requeue loop) – fail", inv: "TF8", want: Violated, cat: UnboundedRedelivery,
			mutate: func(t *testing.T, r synth.Result) { poison(t, r, 8, history.OutcomeRetried, false) }},
		{name: "BoundedRedelivery – requeued again and again (retries off) – fail", inv: "TF8", want: Violated, cat: UnboundedRedelivery,
			mutate: func(t *testing.T, r synth.Result) { poison(t, r, 12, history.OutcomeRequeued, false) }},
		{name: "BoundedRedelivery – still failing at quiescence – fail", inv: "TF8", want: Violated, cat: UnboundedRedelivery,
			mutate: func(t *testing.T, r synth.Result) { poison(t, r, 1, history.OutcomeRetried, false) }},
		{name: "BoundedRedelivery – last attempt's retry copy published twice, both dead-lettered – pass", inv: "TF8", want: Pass,
			mutate: func(t *testing.T, r synth.Result) { lastAttemptTwice(t, r, false) }},
		{name: "BoundedRedelivery – last attempt redelivered by the broker and failing again – fail", inv: "TF8", want: Violated, cat: UnboundedRedelivery,
			mutate: func(t *testing.T, r synth.Result) { lastAttemptTwice(t, r, true) }},
		{name: "BoundedRedelivery – dead-lettered but in no dead-letter queue – fail", inv: "TF8", want: Violated, cat: Lost,
			mutate: func(t *testing.T, r synth.Result) { poison(t, r, 3, history.OutcomeDeadLettered, false) }},
		{name: "BoundedRedelivery – dead letter nobody dead-lettered – fail", inv: "TF8", want: Violated, cat: UnaccountedDeadLetter,
			mutate: func(t *testing.T, r synth.Result) {
				r.History.Snapshot.DeadLetters = append(r.History.Snapshot.DeadLetters, history.DeadLetter{Service: "sla",
					Queue: "sla-ticket-changes-dlq", MessageID: "m-expired", MessageType: "TicketQualified", Reason: "expired"})
			}},
	})
}

func TestConnectedTraces(t *testing.T) {
	newTrace := history.TraceID{0xde, 0xad}
	runCases(t, []invariantCase{
		{name: "ConnectedTraces – every flow one trace – pass", inv: "TF9", want: Pass},
		{name: "ConnectedTraces – consumer started a new trace – fail", inv: "TF9", want: Violated, cat: BrokenTrace,
			mutate: func(t *testing.T, r synth.Result) {
				synth.Find(t, r.History, history.KindProcess, "inquiries", "TicketCreated", r.Flows[1].InquiryID).TraceID = newTrace
			}},
		{name: "ConnectedTraces – handling's parent span never recorded – fail", inv: "TF9", want: Violated, cat: BrokenTrace,
			mutate: func(t *testing.T, r synth.Result) {
				synth.Find(t, r.History, history.KindProcess, "sla", "TicketQualified", r.Flows[1].InquiryID).ParentID = history.SpanID{9, 9, 9}
			}},
		{name: "ConnectedTraces – TicketCreated published in a new trace – fail (flow split)", inv: "TF9", want: Violated, cat: BrokenTrace,
			mutate: func(t *testing.T, r synth.Result) {
				h := r.History
				id := r.Flows[2].InquiryID
				synth.Find(t, h, history.KindPublish, "tickets", "TicketCreated", id).TraceID = newTrace
				synth.Find(t, h, history.KindProcess, "inquiries", "TicketCreated", id).TraceID = newTrace
			}},
	})
}

func TestVerdict(t *testing.T) {
	dupClosure := func(h *history.History) {
		for _, m := range tf(h).Messages {
			if m.Kind == tfhistory.MessageClosure {
				m.ID += "-dup"
				tf(h).Messages = append(tf(h).Messages, m)
				return
			}
		}
	}
	cases := []struct {
		name     string
		edit     func(h *history.History)
		outcome  Outcome
		exit     int
		inReason string
	}{
		{"clean run with evidence – pass", nil, OutcomePass, ExitPass, "held"},
		{"unexpected violation – fail", dupClosure, OutcomeFail, ExitViolated, "TF2"},
		{"unexpected violation beats missing evidence – fail", func(h *history.History) {
			dupClosure(h)
			h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 0}}
		}, OutcomeFail, ExitViolated, "TF2"},
		{"evidence unmet – inconclusive", func(h *history.History) {
			h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 0}}
		}, OutcomeInconclusive, ExitInconclusive, "dedup.skips > 0 (observed 0)"},
		{"runner counter not recorded – inconclusive", func(h *history.History) {
			h.Meta.Evidence = []history.Requirement{{Counter: "network.bytes-cut", Op: ">", Value: 0}}
		}, OutcomeInconclusive, ExitInconclusive, "not recorded"},
		{"management counter not recorded says what to pass – inconclusive", func(h *history.History) {
			h.Meta.Evidence = []history.Requirement{{Counter: "connections.reopened", Op: ">", Value: 0}}
		}, OutcomeInconclusive, ExitInconclusive, "connections.reopened > 0 (not recorded: needs --management-url)"},
		{"runner counter recorded – pass", func(h *history.History) {
			h.Meta.Evidence = []history.Requirement{{Counter: "network.bytes-cut", Op: ">", Value: 0}}
			h.Counters["network.bytes-cut"] = 1024
		}, OutcomePass, ExitPass, "held"},
		{"runner cannot fake a derived counter – inconclusive", func(h *history.History) {
			h.Meta.Evidence = []history.Requirement{{Counter: "dedup.skips", Op: ">", Value: 0}}
			h.Counters["dedup.skips"] = 5
		}, OutcomeInconclusive, ExitInconclusive, "dedup.skips"},
		{"no evidence declared – inconclusive", func(h *history.History) { h.Meta.Evidence = nil },
			OutcomeInconclusive, ExitInconclusive, "declares no evidence"},
		{"negative control sees its violation – pass", func(h *history.History) {
			h.Meta.Control = true
			h.Meta.Expect.Violated = []string{"TF2"}
			dupClosure(h)
		}, OutcomePass, ExitPass, "violated as expected: TF2"},
		{"negative control by name – pass", func(h *history.History) {
			h.Meta.Expect.Violated = []string{"ExactlyOnceEffects"}
			dupClosure(h)
		}, OutcomePass, ExitPass, "violated as expected: TF2"},
		{"negative control without its violation – fail", func(h *history.History) {
			h.Meta.Control = true
			h.Meta.Expect.Violated = []string{"TF2"}
		}, OutcomeFail, ExitViolated, "expected violation did not happen: TF2"},
		{"negative control ignores other violations – pass", func(h *history.History) {
			h.Meta.Expect.Violated = []string{"TF2"}
			dupClosure(h)
			tf(h).Inquiries[1].TicketID = "" // TF6 too
		}, OutcomePass, ExitPass, "TF2"},
		{"selected invariant undecided – inconclusive", func(h *history.History) {
			h.Meta.Invariants = []string{"TF5"}
			tf(h).Reminders = nil
		}, OutcomeInconclusive, ExitInconclusive, "could not decide: TF5"},
		{"unselected invariant undecided – pass", func(h *history.History) {
			h.Meta.Invariants = []string{"TF1", "TF2"}
			tf(h).Reminders = nil
			tf(h).Tickets = tf(h).Tickets[:0:0]
			tf(h).Messages, tf(h).Alerts = nil, nil
			for i := range h.Records {
				h.Records[i].Accepted = false
			}
		}, OutcomePass, ExitPass, "held"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := synth.SixFlows(t)
			if tc.edit != nil {
				tc.edit(res.History)
			}
			v := Evaluate(res.History, invariants.All...)
			if v.Outcome != tc.outcome || v.ExitCode != tc.exit || !strings.Contains(v.Reason, tc.inReason) {
				t.Fatalf("verdict %s/%d %q; want %s/%d containing %q", v.Outcome, v.ExitCode, v.Reason, tc.outcome, tc.exit, tc.inReason)
			}
		})
	}
}

func TestSkippedInvariants(t *testing.T) {
	res := synth.SixFlows(t)
	res.History.Meta.Invariants = []string{"TF1"}
	res.History.Meta.Expect.Violated = []string{"TF2"}
	v := Evaluate(res.History, invariants.All...)
	for _, r := range v.Results {
		want := Skipped
		if r.ID == "TF1" || r.ID == "TF2" || r.ID == "TF10" { // TF10 is judged in every run
			want = Pass
		}
		if r.Status != want {
			t.Errorf("%s = %s, want %s", r.ID, r.Status, want)
		}
	}
}

func TestDeriveCounters(t *testing.T) {
	res := synth.SixFlows(t)
	h := res.History
	e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", res.Flows[0].InquiryID)
	synth.Again(h, e, 10*time.Millisecond, func(c *history.Event) { c.Redelivered, c.Dedup, c.Attempt = true, history.DedupDuplicate, 2 })
	p := synth.Find(t, h, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID)
	synth.Again(h, p, 5*time.Millisecond, func(c *history.Event) { c.Republish, c.Confirm = 1, "timeout" })
	h.Faults = []history.Fault{{Name: "cut", Type: "outage", Started: p.Start.Add(-time.Millisecond), Healed: p.Start.Add(time.Second)}}
	// A Fault.<T> announcement, published twice (a republish): one announcement.
	announce := synth.Again(h, p, 20*time.Millisecond, func(c *history.Event) {
		c.MessageType, c.MessageID, c.Republish, c.Confirm = "Fault.TicketResolved", "fault-1", 0, "ack"
	})
	synth.Again(h, announce, 5*time.Millisecond, func(c *history.Event) { c.Republish = 1 })
	c := DeriveCounters(h)
	want := map[string]float64{
		"deliveries.redelivered": 1, "dedup.skips": 1, "deliveries.retried": 1, "deliveries.duplicated": 1,
		"publishes.republished": 2, "confirms.timeout": 1, "faults.applied": 1, "publishes.fault-announcements": 1,
	}
	for k, w := range want {
		if c[k] != w {
			t.Errorf("%s = %v, want %v", k, c[k], w)
		}
	}
	if c["latency.fault.max-ms"] <= 0 || c["latency.baseline.max-ms"] <= 0 {
		t.Errorf("latency counters %v / %v", c["latency.fault.max-ms"], c["latency.baseline.max-ms"])
	}
	for name := range c {
		if info, ok := history.LookupCounter(name); !ok || info.Source != history.FromHistory {
			t.Errorf("derived counter %q is not a history counter in the catalog", name)
		}
	}
}
