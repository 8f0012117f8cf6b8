package invariants

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

var base = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }

// run builds a synthetic run step by step, keeping the write log's
// sequence numbers and the spans' message ids consistent.
type run struct {
	in  Input
	seq int64
	msg int
}

func (r *run) write(store, entity, id string, version int64, data any, cause string) {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	r.seq++
	r.in.Snapshot.Writes = append(r.in.Snapshot.Writes, Write{Store: store, Instance: store + "-1", Seq: r.seq, Entity: entity, ID: id,
		Version: version, Data: b, Cause: cause, At: base})
}

func ticketData(price float64, orderID string) map[string]any {
	return map[string]any{"title": "gig", "price": price, "orderId": orderID}
}

func orderData(ticket string, s common.OrderStatus) map[string]any {
	return map[string]any{"status": s, "ticket": map[string]any{"id": ticket}}
}

// event records a confirmed publish of subject about id at version at sec,
// and an acked handling by each service in handledBy; it returns the
// message id.
func (r *run) event(subject, id string, version int64, sec float64, handledBy ...string) string {
	r.msg++
	m := fmt.Sprintf("m-%d", r.msg)
	var tr history.TraceID
	tr[0] = byte(r.msg)
	r.in.Events = append(r.in.Events, history.Event{Kind: history.KindPublish, Start: at(sec), End: at(sec), TraceID: tr,
		MessageID: m, MessageType: subject, AggregateID: id, AggregateVersion: version,
		PublishVia: history.ViaOutbox, Confirm: history.ConfirmAck})
	for _, svc := range handledBy {
		r.handle(svc, m, subject, id, version, history.OutcomeAcked)
	}
	return m
}

func (r *run) handle(svc, m, subject, id string, version int64, outcome string) {
	r.in.Events = append(r.in.Events, history.Event{Kind: history.KindProcess, Service: svc, MessageID: m, MessageType: subject,
		AggregateID: id, AggregateVersion: version, Outcome: outcome})
}

// clean is a fault-free run of the fixed system: ticket t1 is created at
// price 5 and edited to 10 and 15; order o1 reserves it and expires; order
// o2 reserves it and is paid (charge ch2), its expiration job runs and
// orders leaves it complete.
func clean() *run {
	r := &run{in: Input{Snapshot: &Snapshot{}, At: at(60), Toggles: common.Fixed(), Holdings: &history.Holdings{At: at(60)}}}
	s := r.in.Snapshot
	const T, O = common.ServiceTickets, common.ServiceOrders
	// tickets' master and the events it owes
	for v, w := range []struct {
		price         float64
		order, cause  string
		sub, replicaC string
	}{
		{5, "", "POST /api/tickets", common.SubjectTicketCreated, common.SubjectTicketCreated},
		{10, "", CauseTicketUpdate, common.SubjectTicketUpdated, common.SubjectTicketUpdated},
		{15, "", CauseTicketUpdate, common.SubjectTicketUpdated, common.SubjectTicketUpdated},
		{15, "o1", common.SubjectOrderCreated, common.SubjectTicketUpdated, common.SubjectTicketUpdated},
		{15, "", common.SubjectOrderCancelled, common.SubjectTicketUpdated, common.SubjectTicketUpdated},
		{15, "o2", common.SubjectOrderCreated, common.SubjectTicketUpdated, common.SubjectTicketUpdated},
	} {
		r.write(T, common.EntityTicket, "t1", int64(v), ticketData(w.price, w.order), w.cause)
		r.event(w.sub, "t1", int64(v), float64(v), O)
		r.write(O, common.EntityTicketReplica, "t1", int64(v), ticketData(w.price, ""), w.replicaC)
	}
	s.Tickets = []Ticket{{ID: "t1", Title: "gig", Price: 15, UserID: "u1", OrderID: "o2", Version: 5}}
	s.TicketReplicas = []TicketReplica{{Store: O, ID: "t1", Title: "gig", Price: 15, Version: 5}}
	// orders' master, payments' replica
	listeners := func(sub string) []string {
		var out []string
		for _, svc := range []string{common.ServiceExpiration, common.ServiceOrders, common.ServicePayments, common.ServiceTickets} {
			for _, l := range common.Listens[svc] {
				if l == sub {
					out = append(out, svc)
				}
			}
		}
		return out
	}
	P := common.ServicePayments
	r.write(O, common.EntityOrder, "o1", 0, orderData("t1", common.OrderCreated), "POST /api/orders")
	r.event(common.SubjectOrderCreated, "o1", 0, 3, listeners(common.SubjectOrderCreated)...)
	r.write(P, common.EntityOrderReplica, "o1", 0, orderData("", common.OrderCreated), common.SubjectOrderCreated)
	r.event(common.SubjectExpirationComplete, "o1", 0, 10.5, O)
	r.write(O, common.EntityOrder, "o1", 1, orderData("t1", common.OrderCancelled), common.SubjectExpirationComplete)
	r.event(common.SubjectOrderCancelled, "o1", 1, 10.6, listeners(common.SubjectOrderCancelled)...)
	r.write(P, common.EntityOrderReplica, "o1", 1, orderData("", common.OrderCancelled), common.SubjectOrderCancelled)
	r.write(O, common.EntityOrder, "o2", 0, orderData("t1", common.OrderCreated), "POST /api/orders")
	r.event(common.SubjectOrderCreated, "o2", 0, 11, listeners(common.SubjectOrderCreated)...)
	r.write(P, common.EntityOrderReplica, "o2", 0, orderData("", common.OrderCreated), common.SubjectOrderCreated)
	r.event(common.SubjectPaymentCreated, "o2", 0, 12, O)
	r.write(O, common.EntityOrder, "o2", 1, orderData("t1", common.OrderComplete), common.SubjectPaymentCreated)
	r.event(common.SubjectOrderUpdated, "o2", 1, 12.1, P)
	r.write(P, common.EntityOrderReplica, "o2", 1, orderData("", common.OrderComplete), common.SubjectOrderUpdated)
	r.event(common.SubjectExpirationComplete, "o2", 0, 21, O)
	s.Orders = []Order{
		{ID: "o1", UserID: "u2", Status: common.OrderCancelled, ExpiresAt: at(10), TicketID: "t1", Version: 1},
		{ID: "o2", UserID: "u3", Status: common.OrderComplete, ExpiresAt: at(20), TicketID: "t1", Version: 1},
	}
	s.OrderReplicas = []OrderReplica{
		{Store: P, ID: "o1", Status: common.OrderCancelled, Price: 15, Version: 1},
		{Store: P, ID: "o2", Status: common.OrderComplete, Price: 15, Version: 1},
	}
	s.Payments = []Payment{{ID: "p2", OrderID: "o2", StripeID: "ch2"}}
	s.Charges = []Charge{{ID: "ch2", OrderID: "o2", Amount: 1500, IdempotencyKey: "o2"}}
	s.Jobs = []Job{{ID: "o1", OrderID: "o1", Due: at(10), State: snapshot.JobDone}, {ID: "o2", OrderID: "o2", Due: at(20), State: snapshot.JobDone}}
	r.in.Records = []history.Record{
		{ID: "t1", Kind: workload.KindTicketUpdate, At: at(1), Accepted: true, Attrs: map[string]string{"price": "10"}},
		{ID: "t1", Kind: workload.KindTicketUpdate, At: at(2), Accepted: true, Attrs: map[string]string{"price": "15"}},
	}
	return r
}

func TestCleanRunPassesEveryInvariant(t *testing.T) {
	for _, res := range Evaluate(clean().in) {
		if res.Status != check.Pass || res.Checked == 0 {
			t.Errorf("%s %s: %s (%s), checked %d: %v", res.ID, res.Name, res.Status, res.Evidence(), res.Checked, res.Violations)
		}
	}
}

func TestWithoutSnapshotEveryInvariantIsInconclusive(t *testing.T) {
	in := clean().in
	in.Snapshot = nil
	for _, res := range Evaluate(in) {
		if res.Status != check.Inconclusive {
			t.Errorf("%s without a snapshot: %s, want INCONCLUSIVE", res.ID, res.Status)
		}
	}
}

func TestAllInIDOrderWithSentinels(t *testing.T) {
	if len(All) != 13 {
		t.Fatalf("%d invariants, want TS1–TS13", len(All))
	}
	for i, inv := range All {
		if inv.ID != fmt.Sprintf("TS%d", i+1) {
			t.Errorf("All[%d] is %s", i, inv.ID)
		}
		if !strings.Contains(inv.Err.Error(), inv.ID+" "+inv.Name+" – "+inv.Guarantee) {
			t.Errorf("%s: sentinel %q does not state the guarantee", inv.ID, inv.Err)
		}
		if got, ok := Lookup(inv.Name); !ok || got.ID != inv.ID {
			t.Errorf("Lookup(%q) = %v, %v", inv.Name, got.ID, ok)
		}
	}
}

// A case breaks (or keeps) one invariant by one change to the clean run.
type tcase struct {
	name   string
	id     string
	change func(r *run)
	status check.Status
	cat    check.Category // of the first violation, when violated
	detail string         // substring of the first violation's detail (or of the evidence)
}

func TestInvariants(t *testing.T) {
	cases := []tcase{
		// TS1
		{"paid after expiry: two complete orders and two charges (L1)", "TS1", func(r *run) {
			r.in.Snapshot.Orders[0].Status = common.OrderComplete
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch1", OrderID: "o1"})
		}, check.Violated, check.DuplicatedEffect, "2 orders complete (o1, o2); 2 charges not refunded (ch2 of order o2, ch1 of order o1)"},
		{"one order charged twice: paid twice (L2)", "TS1", func(r *run) {
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch2b", OrderID: "o2"})
		}, check.Violated, check.DuplicatedEffect, "paid twice: 2 charges not refunded (ch2 of order o2, ch2b of order o2)"},
		{"a refunded second charge is no sale", "TS1", func(r *run) {
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch1", OrderID: "o1", Refunded: true})
		}, check.Pass, "", ""},
		// TS2
		{"two parallel orders both placed (L11)", "TS2", func(r *run) {
			r.write(common.ServiceOrders, common.EntityOrder, "o3", 0, orderData("t1", common.OrderCreated), "POST /api/orders")
		}, check.Violated, check.DuplicatedEffect, "order o3 became created at version 0 (POST /api/orders) while o2 (complete) held it"},
		{"an order placed after the other was cancelled", "TS2", func(r *run) {
			r.write(common.ServiceOrders, common.EntityOrder, "o2", 2, orderData("t1", common.OrderCancelled), "DELETE /api/orders/:id")
			r.write(common.ServiceOrders, common.EntityOrder, "o3", 0, orderData("t1", common.OrderCreated), "POST /api/orders")
		}, check.Pass, "", ""},
		// TS3
		{"an order whose expiration never ran, nothing held: lost", "TS3", func(r *run) {
			r.in.Snapshot.Orders = append(r.in.Snapshot.Orders, Order{ID: "o4", Status: common.OrderCreated, ExpiresAt: at(5), TicketID: "t9"})
		}, check.Violated, check.Lost, "still created at version 0, expired 2026-12-04T12:00:05Z, judged 55s after (grace 30s); expiration never scheduled a job for it"},
		{"an order whose expiration:complete the broker still holds: stuck", "TS3", func(r *run) {
			r.in.Snapshot.Orders = append(r.in.Snapshot.Orders, Order{ID: "o4", Status: common.OrderCreated, ExpiresAt: at(5), TicketID: "t9"})
			r.in.Snapshot.Jobs = append(r.in.Snapshot.Jobs, Job{ID: "o4", OrderID: "o4", State: snapshot.JobDone})
			r.event(common.SubjectExpirationComplete, "o4", 0, 6)
			r.in.Holdings.Queues = []history.QueueHolding{{Queue: "orders-service.expiration.complete", Ready: 1,
				Messages: []history.HeldMessage{{MessageID: "m-x", AggregateID: "o4"}}}}
		}, check.Violated, check.Stuck, "expiration:complete was published but orders never handled it; queue orders-service.expiration.complete still holds messages"},
		{"an open order not yet past expiresAt + grace is not judged", "TS3", func(r *run) {
			r.in.Snapshot.Orders = append(r.in.Snapshot.Orders, Order{ID: "o4", Status: common.OrderCreated, ExpiresAt: at(45), TicketID: "t9"})
		}, check.Pass, "", "1 orders not yet past expiresAt + 30s"},
		// TS4
		{"a complete order cancelled (L3)", "TS4", func(r *run) {
			r.write(common.ServiceOrders, common.EntityOrder, "o2", 2, orderData("t1", common.OrderCancelled), "DELETE /api/orders/:id")
		}, check.Violated, check.Unexpected, "complete at version 1 (payment:created), then cancelled at version 2 (DELETE /api/orders/:id)"},
		{"a cancelled order cancelled again keeps its status", "TS4", func(r *run) {
			r.write(common.ServiceOrders, common.EntityOrder, "o1", 2, orderData("t1", common.OrderCancelled), common.SubjectExpirationComplete)
		}, check.Pass, "", ""},
		{"no write log", "TS4", func(r *run) { r.in.Snapshot.Writes = nil }, check.Inconclusive, "", "no write log of orders"},
		// TS5
		{"a ticket locked by a dead order (L7)", "TS5", func(r *run) {
			r.in.Snapshot.Orders[1].Status = common.OrderCancelled
			r.in.Snapshot.Tickets[0].OrderID = "o1"
		}, check.Violated, check.Diverged, "tickets holds it for order o1 (cancelled at version 1) at version 5, orders has no active order for it"},
		{"a ticket freed while its order is active, its message held: stuck", "TS5", func(r *run) {
			r.in.Snapshot.Tickets[0].OrderID = ""
			r.in.Holdings.Queues = []history.QueueHolding{{Queue: "tickets-service.order.created", Ready: 1,
				Messages: []history.HeldMessage{{MessageID: "m-y", AggregateID: "o2"}}}}
		}, check.Violated, check.Stuck, "tickets has it free at version 5, orders has order o2 active (complete at version 1)"},
		// TS6
		{"an edit of a reserved ticket", "TS6", func(r *run) {
			r.write(common.ServiceTickets, common.EntityTicket, "t1", 6, ticketData(20, "o2"), CauseTicketUpdate)
		}, check.Violated, check.Unexpected, "edit accepted at version 6 (price 20) while tickets had it reserved for order o2"},
		{"an edit after another order's cancellation cleared the reservation (L4)", "TS6", func(r *run) {
			r.write(common.ServiceTickets, common.EntityTicket, "t1", 6, ticketData(15, ""), common.SubjectOrderCancelled)
			r.write(common.ServiceTickets, common.EntityTicket, "t1", 7, ticketData(20, ""), CauseTicketUpdate)
		}, check.Violated, check.Unexpected, "edit accepted at version 7 (price 20) while order o2 held it"},
		{"an edit after the holding order was cancelled", "TS6", func(r *run) {
			r.write(common.ServiceOrders, common.EntityOrder, "o2", 2, orderData("t1", common.OrderCancelled), "DELETE /api/orders/:id")
			r.in.Snapshot.Orders[1].Status = common.OrderCancelled
			r.write(common.ServiceTickets, common.EntityTicket, "t1", 6, ticketData(15, ""), common.SubjectOrderCancelled)
			r.write(common.ServiceTickets, common.EntityTicket, "t1", 7, ticketData(20, ""), CauseTicketUpdate)
		}, check.Pass, "", ""},
		// TS7
		{"a replica applies version 2 before version 1 (versionRule off)", "TS7", func(r *run) {
			r.write(common.ServiceOrders, common.EntityTicketReplica, "t1", 7, ticketData(15, ""), common.SubjectTicketUpdated)
			r.write(common.ServiceOrders, common.EntityTicketReplica, "t1", 6, ticketData(10, ""), common.SubjectTicketUpdated)
		}, check.Violated, check.OutOfOrder, "skipped from version 5 to 7 (ticket:updated); went back from version 7 to 6 (ticket:updated)"},
		{"a replica applies a duplicate again", "TS7", func(r *run) {
			r.write(common.ServicePayments, common.EntityOrderReplica, "o2", 1, orderData("", common.OrderComplete), common.SubjectOrderUpdated)
		}, check.Violated, check.OutOfOrder, "applied version 1 again (order:updated)"},
		// TS8
		{"a replica keeps a stale price", "TS8", func(r *run) {
			r.in.Snapshot.TicketReplicas[0].Price, r.in.Snapshot.TicketReplicas[0].Version = 10, 2
		}, check.Violated, check.Diverged, `replica orders at version 2 (price 10, "gig"), owner at version 5 (price 15, "gig")`},
		{"payments never learns complete, paymentGuards fixed", "TS8", func(r *run) {
			r.in.Snapshot.OrderReplicas[1].Status, r.in.Snapshot.OrderReplicas[1].Version = common.OrderCreated, 0
		}, check.Violated, check.Diverged, "replica payments created at version 0, owner complete at version 1"},
		{"payments never learns complete, paymentGuards faithful: known gap L12", "TS8", func(r *run) {
			r.in.Toggles = common.Fixed().With(common.PaymentGuards, true)
			r.in.Snapshot.OrderReplicas[1].Status, r.in.Snapshot.OrderReplicas[1].Version = common.OrderCreated, 0
		}, check.Pass, "", "1 known gap L12 (complete never propagated) (legal)"},
		// TS9
		{"a cancellation committed but never published (no outbox, L8)", "TS9", func(r *run) {
			r.write(common.ServiceOrders, common.EntityOrder, "o2", 2, orderData("t1", common.OrderCancelled), "DELETE /api/orders/:id")
		}, check.Violated, check.Lost, "order:cancelled at version 2 committed (DELETE /api/orders/:id), 1 owed, 0 published with a confirm"},
		{"an expiration job done whose event never left (L9)", "TS9", func(r *run) {
			r.in.Snapshot.Jobs = append(r.in.Snapshot.Jobs, Job{ID: "j3", OrderID: "o1", State: snapshot.JobDone})
		}, check.Violated, check.Lost, "expiration:complete at version 0 committed (expiration job done), 2 owed, 1 published"},
		{"a published event payments never acked, held by the broker", "TS9", func(r *run) {
			m := r.event(common.SubjectOrderCreated, "o5", 0, 30, common.ServiceTickets, common.ServiceExpiration)
			r.write(common.ServiceOrders, common.EntityOrder, "o5", 0, orderData("t5", common.OrderCreated), "POST /api/orders")
			r.in.Holdings.Queues = []history.QueueHolding{{Queue: "payments-service.order.created", Ready: 1,
				Messages: []history.HeldMessage{{MessageID: m, AggregateID: "o5"}}}}
		}, check.Violated, check.Stuck, "payments never acked it; queue payments-service.order.created still holds messages"},
		{"a published event payments dead-lettered is accounted", "TS9", func(r *run) {
			m := r.event(common.SubjectOrderCreated, "o5", 0, 30, common.ServiceTickets, common.ServiceExpiration)
			r.write(common.ServiceOrders, common.EntityOrder, "o5", 0, orderData("t5", common.OrderCreated), "POST /api/orders")
			r.in.DeadLetters = []history.DeadLetter{{Service: common.ServicePayments, MessageID: m}}
		}, check.Pass, "", "1 accounted (dead-lettered) (legal)"},
		{"no spans", "TS9", func(r *run) { r.in.Events = nil }, check.Inconclusive, "", "no publish or handling spans were recorded"},
		// TS10
		{"a duplicate update loops in a strict replica (L6)", "TS10", func(r *run) {
			for range 12 {
				r.handle(common.ServiceOrders, "m-2", common.SubjectTicketUpdated, "t1", 1, history.OutcomeRetried)
			}
		}, check.Violated, check.UnboundedRedelivery, "orders handled message m-2 (ticket:updated of t1 at version 1) 13 times, 12 failed (bound 10)"},
		{"a few retries stay within the bound", "TS10", func(r *run) {
			for range 9 {
				r.handle(common.ServiceOrders, "m-2", common.SubjectTicketUpdated, "t1", 1, history.OutcomeRetried)
			}
		}, check.Pass, "", ""},
		// TS11
		{"an order charged twice (L2)", "TS11", func(r *run) {
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch2b", OrderID: "o2"})
		}, check.Violated, check.DuplicatedEffect, "charged 2 times: charge ch2, charge ch2b (no payment records it) not refunded"},
		{"a charge timed out, the order expired (L13)", "TS11", func(r *run) {
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch1", OrderID: "o1", TimedOut: true})
		}, check.Violated, check.Unexpected, "charge ch1 (answered 504 though charged, no payment records it) not refunded, order cancelled at version 1"},
		{"a charge of a cancelled order whose refund is still owed: stuck", "TS11", func(r *run) {
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch1", OrderID: "o1"})
			r.in.Snapshot.Payments = append(r.in.Snapshot.Payments, Payment{ID: "p1", OrderID: "o1", StripeID: "ch1"})
			r.in.Snapshot.PaymentRefunds = []PaymentRefund{{PaymentID: "p1", OrderID: "o1", StripeID: "ch1", State: snapshot.RefundPending}}
		}, check.Violated, check.Stuck, "payments still owes the refund of ch1"},
		{"an orphan charge", "TS11", func(r *run) {
			r.in.Snapshot.Charges = append(r.in.Snapshot.Charges, Charge{ID: "ch9", OrderID: "o9"})
		}, check.Violated, check.Unexpected, "charge ch9 (no payment records it) not refunded of an order orders does not know"},
		// TS12
		{"an order expired twice (random job ids, L5)", "TS12", func(r *run) {
			r.in.Snapshot.Jobs = append(r.in.Snapshot.Jobs, Job{ID: "j3", OrderID: "o1", State: snapshot.JobDone})
			r.event(common.SubjectExpirationComplete, "o1", 0, 11, common.ServiceOrders)
		}, check.Violated, check.DuplicatedEffect, "expired 2 times (2 expiration:complete published, 2 jobs done)"},
		{"an order expired early (expiration's clock ahead, L14)", "TS12", func(r *run) {
			r.in.Snapshot.Orders[1].ExpiresAt = at(40)
		}, check.Violated, check.Unexpected, "expired at 12:00:21.000, 19s before its expiresAt 12:00:40.000 (tolerance 2s)"},
		{"an expiration within the skew tolerance", "TS12", func(r *run) {
			r.in.Snapshot.Orders[1].ExpiresAt = at(22.5)
		}, check.Pass, "", ""},
		// TS13
		{"a replica ends at the middle price (versionRule off)", "TS13", func(r *run) {
			r.in.Snapshot.TicketReplicas[0].Price, r.in.Snapshot.TicketReplicas[0].Version = 10, 5
		}, check.Violated, check.Diverged, "replica orders at version 5 (price 10), last accepted edit (price 15)"},
		{"a replica that never got the ticket, nothing held: lost", "TS13", func(r *run) {
			r.in.Snapshot.TicketReplicas = append(r.in.Snapshot.TicketReplicas, TicketReplica{Store: "orders-2", ID: "t0", Price: 5})
		}, check.Violated, check.Lost, "replica orders-2 has no copy, last accepted edit at price 15"},
	}
	for _, tc := range cases {
		t.Run(tc.id+"/"+tc.name, func(t *testing.T) {
			r := clean()
			tc.change(r)
			inv, ok := Lookup(tc.id)
			if !ok {
				t.Fatalf("no invariant %s", tc.id)
			}
			res := inv.Check(r.in)
			if res.Status != tc.status {
				t.Fatalf("%s: %s, want %s (%s) %v", tc.id, res.Status, tc.status, res.Evidence(), res.Violations)
			}
			got := res.Evidence()
			if len(res.Violations) > 0 {
				v := res.Violations[0]
				if v.Category != tc.cat {
					t.Errorf("category %q, want %q: %s", v.Category, tc.cat, v)
				}
				got = v.Detail
				if res.Err() == nil || !strings.Contains(res.Err().Error(), tc.id+" "+inv.Name) {
					t.Errorf("Err() = %v, want the %s sentinel", res.Err(), tc.id)
				}
			}
			if !strings.Contains(got, tc.detail) {
				t.Errorf("evidence %q\nwant it to contain %q", got, tc.detail)
			}
		})
	}
}

// Through the lab's View the invariants judge a history as they judge its
// Input: the clean run passes, a stale replica breaks TS8 and TS13.
func TestChecksReadTheHistoryThroughTheView(t *testing.T) {
	for _, stale := range []bool{false, true} {
		r := clean()
		if stale {
			r.in.Snapshot.TicketReplicas[0].Price = 10
		}
		h := &history.History{Meta: history.Meta{End: r.in.At}, Events: r.in.Events, Records: r.in.Records,
			Snapshot: history.Snapshot{At: r.in.At, Holdings: r.in.Holdings, System: history.NewSystemSnapshot(r.in.Snapshot)}}
		v := check.NewView(h)
		for _, inv := range Checks() {
			res := inv.Check(inv, v)
			want := check.Pass
			if stale && (inv.ID == "TS8" || inv.ID == "TS13") {
				want = check.Violated
			}
			if res.Status != want || res.Invariant.ID != inv.ID {
				t.Errorf("stale %v: %s %s (%s), want %s", stale, inv.ID, res.Status, res.Evidence(), want)
			}
		}
	}
	h := &history.History{}
	for _, inv := range Checks() {
		if res := inv.Check(inv, check.NewView(h)); res.Status != check.Inconclusive {
			t.Errorf("%s without a snapshot: %s", inv.ID, res.Status)
		}
	}
}

func TestInferTogglesFromCharges(t *testing.T) {
	r := clean()
	if tg := InferToggles(r.in.Snapshot, r.in.Events); tg.IsFaithful(common.PaymentGuards) {
		t.Errorf("charges with idempotency keys: %s, want fixed", tg)
	}
	r.in.Snapshot.Charges[0].IdempotencyKey = ""
	if tg := InferToggles(r.in.Snapshot, r.in.Events); !tg.IsFaithful(common.PaymentGuards) {
		t.Errorf("a charge without an idempotency key: %s, want paymentGuards faithful", tg)
	}
	r.in.Snapshot.Charges = nil
	if tg := InferToggles(r.in.Snapshot, r.in.Events); tg.IsFaithful(common.PaymentGuards) {
		t.Errorf("no charges, order:updated published: %s, want fixed", tg)
	}
	if tg := InferToggles(r.in.Snapshot, nil); !tg.IsFaithful(common.PaymentGuards) {
		t.Errorf("no charges, a complete order, no order:updated: %s, want paymentGuards faithful", tg)
	}
}
