package check

import (
	"slices"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/synth"
)

// onCluster is a clean synthetic run recorded on a three-node broker.
func onCluster(t *testing.T) synth.Result {
	t.Helper()
	res := synth.SixFlows(t)
	res.History.Meta.Broker = &history.BrokerMeta{Nodes: 3, QueueType: "quorum", PartitionHandling: "pause_minority"}
	return res
}

// unhandle removes every handling of the message published by pub and
// returns the publish (copy).
func unhandle(h *history.History, pub *history.Event) history.Event {
	p := *pub
	h.Events = slices.DeleteFunc(h.Events, func(e history.Event) bool {
		return e.Kind == history.KindProcess && e.MessageID == p.MessageID
	})
	return p
}

func noteCount(r Result, c Category) int {
	for _, n := range r.Notes {
		if n.Category == c {
			return n.Count
		}
	}
	return 0
}

func TestTotalQueue(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(t *testing.T, res synth.Result)
		status     Status
		category   Category // of the one violation, if any
		recovered  int
		duplicated int
	}{
		{name: "clean", status: Pass},
		{name: "single node is skipped", status: Skipped, edit: func(t *testing.T, res synth.Result) {
			res.History.Meta.Broker.Nodes = 1
			unhandle(res.History, synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID))
		}},
		{name: "no broker recorded is skipped", status: Skipped, edit: func(t *testing.T, res synth.Result) {
			res.History.Meta.Broker = nil
		}},
		{name: "confirmed, never handled, not held: lost", status: Violated, category: Lost, edit: func(t *testing.T, res synth.Result) {
			unhandle(res.History, synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID))
		}},
		{name: "confirmed, never handled, still in a queue", status: Pass, edit: func(t *testing.T, res synth.Result) {
			p := unhandle(res.History, synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID))
			synth.Hold(res.History, "communication-queue", 0, time.Time{}, p)
		}},
		{name: "confirmed, never handled, dead-lettered", status: Pass, edit: func(t *testing.T, res synth.Result) {
			p := unhandle(res.History, synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID))
			res.History.Snapshot.DeadLetters = append(res.History.Snapshot.DeadLetters, history.DeadLetter{MessageID: p.MessageID})
		}},
		{name: "a type nobody consumes is not judged", status: Pass, edit: func(t *testing.T, res synth.Result) {
			p := synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID)
			synth.Again(res.History, p, time.Millisecond, func(c *history.Event) {
				c.MessageID, c.MessageType = "00000000-0000-0000-0000-00000000cafe", "MetricTick"
			})
		}},
		{name: "unconfirmed and never handled is no finding", status: Pass, edit: func(t *testing.T, res synth.Result) {
			p := synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID)
			p.Confirm = history.ConfirmTimeout
			unhandle(res.History, p)
		}},
		{name: "unconfirmed but handled: recovered", status: Pass, recovered: 1, edit: func(t *testing.T, res synth.Result) {
			synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID).Confirm = history.ConfirmNack
		}},
		{name: "handled, never published: unexpected", status: Violated, category: Unexpected, edit: func(t *testing.T, res synth.Result) {
			e := synth.Find(t, res.History, history.KindProcess, "communication", "TicketResolved", res.Flows[0].InquiryID)
			synth.Again(res.History, e, time.Millisecond, func(c *history.Event) { c.MessageID = "00000000-dead-beef-0000-000000000001" })
		}},
		{name: "handled twice without the redelivered flag: duplicated", status: Pass, duplicated: 1, edit: func(t *testing.T, res synth.Result) {
			e := synth.Find(t, res.History, history.KindProcess, "communication", "TicketResolved", res.Flows[0].InquiryID)
			synth.Again(res.History, e, 10*time.Millisecond, func(c *history.Event) { c.Dedup = history.DedupDuplicate })
		}},
		{name: "a redelivery is no duplicate", status: Pass, edit: func(t *testing.T, res synth.Result) {
			e := synth.Find(t, res.History, history.KindProcess, "communication", "TicketResolved", res.Flows[0].InquiryID)
			synth.Again(res.History, e, 10*time.Millisecond, func(c *history.Event) { c.Redelivered, c.Dedup = true, history.DedupDuplicate })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := onCluster(t)
			if tc.edit != nil {
				tc.edit(t, res)
			}
			r := result(t, Evaluate(res.History), "Q1")
			if r.Status != tc.status {
				t.Fatalf("Q1 = %s %q %v; want %s", r.Status, r.Reason, r.Violations, tc.status)
			}
			if tc.category != "" && (len(r.Violations) != 1 || r.Violations[0].Category != tc.category) {
				t.Errorf("violations %v; want one %s", r.Violations, tc.category)
			}
			if got := noteCount(r, Recovered); got != tc.recovered {
				t.Errorf("recovered = %d, want %d (notes %v)", got, tc.recovered, r.Notes)
			}
			if got := noteCount(r, DuplicatedDelivery); got != tc.duplicated {
				t.Errorf("duplicated = %d, want %d (notes %v)", got, tc.duplicated, r.Notes)
			}
		})
	}
}

// Q1 is judged on every cluster run, also when the scenario selects other invariants.
func TestTotalQueueJudgedWhenNotSelected(t *testing.T) {
	res := onCluster(t)
	res.History.Meta.Invariants = []string{"TF1"}
	unhandle(res.History, synth.Find(t, res.History, history.KindPublish, "tickets", "TicketResolved", res.Flows[0].InquiryID))
	v := Evaluate(res.History)
	if r := result(t, v, "Q1"); r.Status != Violated {
		t.Fatalf("Q1 = %s %q; want VIOLATED", r.Status, r.Reason)
	}
	if v.Outcome != OutcomeFail {
		t.Errorf("verdict %s %q; want FAIL", v.Outcome, v.Reason)
	}
}
