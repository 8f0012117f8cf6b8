package invariants_test

import (
	"fmt"
	. "github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/tfhistory"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// dropClosure removes the closure message of ticket id from the inbox.
func dropClosure(t *testing.T, h *history.History, id string) {
	t.Helper()
	i := slices.IndexFunc(tf(h).Messages, func(m tfhistory.Message) bool {
		return m.Kind == tfhistory.MessageClosure && m.TicketID == id
	})
	if i < 0 {
		t.Fatalf("no closure message for %s", id)
	}
	tf(h).Messages = slices.Delete(tf(h).Messages, i, i+1)
}

// unqualifiedBySLA removes what SLA did for ticket id and returns the
// TicketQualified publish it never handled.
func unqualifiedBySLA(t *testing.T, h *history.History, id string) history.Event {
	t.Helper()
	tf(h).Reminders = slices.DeleteFunc(tf(h).Reminders, func(r tfhistory.Reminder) bool { return r.TicketID == id })
	h.Events = slices.DeleteFunc(h.Events, func(e history.Event) bool {
		return e.AggregateID == id && (e.Service == "sla" || e.MessageType == "DeadlinesCalculated")
	})
	ticketOf(t, h, id).Deadline = nil
	return *synth.Find(t, h, history.KindPublish, "tickets", "TicketQualified", id)
}

func categories(vs []Violation) []Category {
	var out []Category
	for _, v := range vs {
		out = append(out, v.Category)
	}
	return out
}

func result(t *testing.T, v Verdict, id string) Result {
	t.Helper()
	r, ok := v.Result(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	return r
}

func TestQuiescence(t *testing.T) {
	since := time.Date(2026, 1, 5, 9, 58, 56, 0, time.UTC) // the synthetic run ends at 10:00:10.6
	cases := []struct {
		name     string
		edit     func(t *testing.T, r synth.Result)
		want     Status
		evidence string
	}{
		{"Quiescence – every queue drained – pass", nil, Pass, "5 queues checked"},
		{"Quiescence – dead letters left in a dead-letter queue – pass (TF8's)", func(t *testing.T, r synth.Result) {
			synth.Hold(r.History, "communication-queue", 0, time.Time{}).DeadLettered = 3
		}, Pass, "5 queues checked"},
		{"Quiescence – no holdings recorded (an older run) – inconclusive", func(t *testing.T, r synth.Result) {
			r.History.Snapshot.Holdings = nil
		}, Inconclusive, "no broker holdings recorded"},
		{"Quiescence – holdings partly read and nothing held – inconclusive", func(t *testing.T, r synth.Result) {
			r.History.Snapshot.Holdings.Error = "consumers: 503"
		}, Inconclusive, "holdings partly read: consumers: 503"},
		{"Quiescence – a prefetch-1 consumer holds an unacked delivery – fail", func(t *testing.T, r synth.Result) {
			h := r.History
			h.Snapshot.Holdings.At = since.Add(74 * time.Second)
			q := synth.Find(t, h, history.KindPublish, "tickets", "TicketQualified", r.Flows[1].InquiryID)
			a := synth.Find(t, h, history.KindPublish, "tickets", "AgentAssignedToTicket", r.Flows[1].InquiryID)
			synth.Hold(h, "sla-queue", 1, since, *q, *a)
		}, Violated, "sla-queue: 2 ready, 1 unacked for 74 s by sla (prefetch 1)"},
		{"Quiescence – a queue without consumer – fail", func(t *testing.T, r synth.Result) {
			e := synth.Find(t, r.History, history.KindPublish, "tickets", "TicketResolved", r.Flows[0].InquiryID)
			synth.Hold(r.History, "orphan-queue", 0, time.Time{}, *e)
		}, Violated, "orphan-queue: 1 ready, no consumer"},
		{"Quiescence – blocked connections – fail, named", func(t *testing.T, r synth.Result) {
			e := synth.Find(t, r.History, history.KindPublish, "tickets", "TicketResolved", r.Flows[0].InquiryID)
			synth.Hold(r.History, "communication-queue", 0, time.Time{}, *e)
			r.History.Snapshot.Holdings.Blocked = []string{"tickets-1-publisher"}
		}, Violated, "blocked connections: tickets-1-publisher"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := synth.SixFlows(t)
			if tc.edit != nil {
				tc.edit(t, res)
			}
			v := Evaluate(res.History, invariants.All...)
			r := result(t, v, "TF10")
			if r.Status != tc.want || !strings.Contains(r.Evidence(), tc.evidence) {
				t.Fatalf("TF10 = %s %q; want %s containing %q", r.Status, r.Evidence(), tc.want, tc.evidence)
			}
			switch tc.want {
			case Violated:
				if v.Outcome != OutcomeFail || !strings.Contains(v.Reason, "TF10") {
					t.Errorf("verdict %s %q: a run that did not drain must fail on TF10", v.Outcome, v.Reason)
				}
				if r.Violations[0].Category != Stuck {
					t.Errorf("finding %v, want stuck", r.Violations[0])
				}
			case Inconclusive:
				if v.Outcome != OutcomeInconclusive || !strings.Contains(v.Reason, "TF10") {
					t.Errorf("verdict %s %q, want INCONCLUSIVE naming TF10", v.Outcome, v.Reason)
				}
			}
		})
	}
}

// The run: SLA (prefetch 1) holds one delivery unacked, so the
// broker hands it nothing more and the rest of its messages wait in its
// queue. The tickets whose SLA handling never came are stuck there, not lost.
func TestStuckIsNotLost(t *testing.T) {
	res := synth.SixFlows(t)
	h := res.History
	end := h.Snapshot.At
	h.Snapshot.Holdings.At = end
	var held []history.Event
	for _, f := range res.Flows[3:] {
		held = append(held, unqualifiedBySLA(t, h, f.InquiryID))
	}
	synth.Hold(h, "sla-queue", 1, end.Add(-74*time.Second), held...)
	v := Evaluate(h, invariants.All...)

	for _, id := range []string{"TF2", "TF6"} {
		r := result(t, v, id)
		if r.Status != Inconclusive {
			t.Fatalf("%s = %s %v; want INCONCLUSIVE (nothing was lost)", id, r.Status, r.Violations)
		}
		if len(r.Violations) != 3 {
			t.Errorf("%s: %d findings, want 3 (one per ticket): %v", id, len(r.Violations), r.Violations)
		}
		for _, f := range r.Violations {
			if f.Category != Stuck || !strings.Contains(f.Detail, "stuck in sla-queue: a consumer holding 1 unacked delivery for 74 s with sla (at prefetch 1)") {
				t.Errorf("%s finding %s; want stuck in sla-queue with its reason", id, f)
			}
			id := f.Subject[len("ticket "):]
			if !slices.ContainsFunc(held, func(e history.Event) bool { return e.AggregateID == id && slices.Contains(f.MessageIDs, e.MessageID) }) {
				t.Errorf("%s finding %s does not name the held message", id, f)
			}
		}
		if !strings.Contains(r.Reason, "TF10") || !strings.Contains(r.Reason, "sla-queue") {
			t.Errorf("%s reason %q names neither TF10 nor the queue", id, r.Reason)
		}
		if !strings.HasSuffix(strings.SplitN(r.Evidence(), "; ", 3)[1], "3 stuck") {
			t.Errorf("%s evidence %q: want the three tickets counted as stuck, nothing else", id, r.Evidence())
		}
	}
	if r := result(t, v, "TF10"); r.Status != Violated || !strings.Contains(r.Evidence(), "sla-queue: 3 ready, 1 unacked for 74 s by sla (prefetch 1)") {
		t.Errorf("TF10 = %s %q", r.Status, r.Evidence())
	}
	if v.Outcome != OutcomeFail || v.Reason != "violated: TF10" {
		t.Errorf("verdict %s %q, want FAIL on TF10 alone", v.Outcome, v.Reason)
	}
}

func TestMissingEffectClassified(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(t *testing.T, r synth.Result)
		want   Status
		cats   []Category
		detail string
	}{
		{"ExactlyOnceEffects – closure missing, nothing held – fail (lost)", func(t *testing.T, r synth.Result) {
			dropClosure(t, r.History, r.Flows[0].InquiryID)
		}, Violated, []Category{Lost}, "no closure message in communication's database"},
		{"ExactlyOnceEffects – closure missing, no holdings recorded – fail (lost, as before)", func(t *testing.T, r synth.Result) {
			dropClosure(t, r.History, r.Flows[0].InquiryID)
			r.History.Snapshot.Holdings = nil
		}, Violated, []Category{Lost}, "no closure message"},
		{"ExactlyOnceEffects – closure missing, its TicketResolved held by a queue without consumer – inconclusive (stuck)", func(t *testing.T, r synth.Result) {
			id := r.Flows[0].InquiryID
			dropClosure(t, r.History, id)
			e := synth.Find(t, r.History, history.KindPublish, "tickets", "TicketResolved", id)
			synth.Hold(r.History, "communication-queue", 0, time.Time{}, *e).Consumers = nil
		}, Inconclusive, []Category{Stuck}, "stuck in communication-queue: no consumer"},
		{"ExactlyOnceEffects – closure missing behind a blocked connection – inconclusive (stuck)", func(t *testing.T, r synth.Result) {
			id := r.Flows[0].InquiryID
			dropClosure(t, r.History, id)
			e := synth.Find(t, r.History, history.KindPublish, "tickets", "TicketResolved", id)
			synth.Hold(r.History, "communication-queue", 0, time.Time{}, *e)
			r.History.Snapshot.Holdings.Blocked = []string{"communication-1-consumer"}
		}, Inconclusive, []Category{Stuck}, "blocked connection communication-1-consumer"},
		{"ExactlyOnceEffects – closure missing, unread messages in a queue – inconclusive (unaccounted)", func(t *testing.T, r synth.Result) {
			dropClosure(t, r.History, r.Flows[0].InquiryID)
			q := synth.Hold(r.History, "communication-queue", 0, time.Time{})
			q.Ready, q.NotRead = 900, 900
		}, Inconclusive, []Category{PossiblyStuck}, "unaccounted: possibly stuck in communication-queue (900 messages not read)"},
		{"ExactlyOnceEffects – one closure stuck, one lost – fail", func(t *testing.T, r synth.Result) {
			stuck, lost := r.Flows[0].InquiryID, r.Flows[2].InquiryID
			dropClosure(t, r.History, stuck)
			dropClosure(t, r.History, lost)
			e := synth.Find(t, r.History, history.KindPublish, "tickets", "TicketResolved", stuck)
			synth.Hold(r.History, "communication-queue", 0, time.Time{}, *e)
		}, Violated, []Category{Stuck, Lost}, "stuck in communication-queue"},
		{"ExactlyOnceEffects – closure missing, TicketResolved dead-lettered – pass (accounted, TF8's)", func(t *testing.T, r synth.Result) {
			h := r.History
			id := r.Flows[0].InquiryID
			dropClosure(t, h, id)
			e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", id)
			e.Outcome = history.OutcomeDeadLettered
			h.Snapshot.DeadLetters = append(h.Snapshot.DeadLetters, history.DeadLetter{Service: "communication",
				Queue: "communication-queue-dlq", MessageID: e.MessageID, MessageType: "TicketResolved"})
			synth.Hold(h, "communication-queue", 0, time.Time{}).DeadLettered = 1
		}, Pass, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := synth.SixFlows(t)
			tc.edit(t, res)
			r := result(t, Evaluate(res.History, invariants.All...), "TF2")
			if r.Status != tc.want || !slices.Equal(categories(r.Violations), tc.cats) {
				t.Fatalf("TF2 = %s %v; want %s %v", r.Status, r.Violations, tc.want, tc.cats)
			}
			if tc.detail != "" && !strings.Contains(r.Violations[0].Detail, tc.detail) {
				t.Errorf("detail %q, want it to contain %q", r.Violations[0].Detail, tc.detail)
			}
			if tc.want == Inconclusive && !strings.Contains(r.Reason, "TF10") {
				t.Errorf("reason %q does not name TF10", r.Reason)
			}
		})
	}
}

// duplicate-delivery-storm's control: every TicketResolved reaches
// Communication twice and both handlings commit. Each duplicate shows in the
// spans (the closure key committed twice) and in the rows (two closure
// messages): one defect, one finding.
func TestOneDefectOneFinding(t *testing.T) {
	res := synth.New(synth.Config{Seed: 11, Inquiries: 34})
	h := res.History
	h.Meta.Evidence = []history.Requirement{{Counter: "deliveries", Op: ">", Value: 0}}
	dups := 0
	for _, f := range res.Flows {
		if !f.Resolved {
			continue
		}
		e := synth.Find(t, h, history.KindProcess, "communication", "TicketResolved", f.InquiryID)
		synth.Again(h, e, 20*time.Millisecond, func(c *history.Event) { c.Dedup = history.DedupOff })
		i := slices.IndexFunc(tf(h).Messages, func(m tfhistory.Message) bool { return m.TicketID == f.InquiryID })
		m := tf(h).Messages[i]
		m.ID += "-second"
		tf(h).Messages = append(tf(h).Messages, m)
		dups++
	}
	if dups != 17 {
		t.Fatalf("%d resolved tickets, want 17", dups)
	}
	r := result(t, Evaluate(h, invariants.All...), "TF2")
	if r.Status != Violated || len(r.Violations) != dups {
		t.Fatalf("TF2 = %s with %d findings, want %d: %v", r.Status, len(r.Violations), dups, r.Violations)
	}
	if want := fmt.Sprintf("%d duplicated effect", dups); !strings.Contains(r.Evidence(), want) {
		t.Errorf("evidence %q, want %q", r.Evidence(), want)
	}
	for _, f := range r.Violations {
		if f.Effect != "closure message" || !strings.Contains(f.Detail, "committed 2 times in communication (spans)") ||
			!strings.Contains(f.Detail, "2 closure messages in communication's database") {
			t.Errorf("finding %s does not cite both the spans and the rows", f)
		}
	}
}

// The same double counting in TF1 and TF6: one missing or foreign subject
// seen from two tables is one finding.
func TestOneDefectOneFindingTF1TF6(t *testing.T) {
	t.Run("NoLostInquiry – an unsubmitted inquiry with its ticket – one finding", func(t *testing.T) {
		res := synth.SixFlows(t)
		h := res.History
		tf(h).Inquiries = append(tf(h).Inquiries, tfhistory.Inquiry{ID: "foreign", TicketID: "foreign", Status: "New"})
		tf(h).Tickets = append(tf(h).Tickets, tfhistory.Ticket{ID: "foreign", Status: "BeforeQualification"})
		r := result(t, Evaluate(h, invariants.All...), "TF1")
		if r.Status != Violated || len(r.Violations) != 1 {
			t.Fatalf("TF1 = %s %v; want one finding", r.Status, r.Violations)
		}
		if d := r.Violations[0].Detail; !strings.Contains(d, "Inquiries database") || !strings.Contains(d, "Tickets database") {
			t.Errorf("detail %q does not cite both databases", d)
		}
	})
	t.Run("CrossServiceConvergence – a ticket Tickets lost, linked and known to SLA – one finding", func(t *testing.T) {
		res := synth.SixFlows(t)
		h := res.History
		id := res.Flows[1].InquiryID
		tf(h).Tickets = slices.DeleteFunc(tf(h).Tickets, func(tk tfhistory.Ticket) bool { return tk.ID == id })
		r := result(t, Evaluate(h, invariants.All...), "TF6")
		if r.Status != Violated || len(r.Violations) != 1 {
			t.Fatalf("TF6 = %s %v; want one finding", r.Status, r.Violations)
		}
		if d := r.Violations[0].Detail; !strings.Contains(d, "inquiry "+id+" is linked to it") || !strings.Contains(d, "SLA has 1 record") {
			t.Errorf("detail %q does not cite both sources", d)
		}
	})
}
