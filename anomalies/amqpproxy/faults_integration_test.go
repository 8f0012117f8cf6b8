//go:build integration

package amqpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/ticketflow-lab/tflab/internal/labtest"
)

// consume starts a manual-ack consumer with the given prefetch.
func consume(t *testing.T, ch *channel, q string, prefetch int) <-chan amqp.Delivery {
	t.Helper()
	if err := ch.Qos(prefetch, 0, false); err != nil {
		t.Fatalf("qos: %v", err)
	}
	dl, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	return dl
}

func ack(t *testing.T, d amqp.Delivery, multiple bool) {
	t.Helper()
	if err := d.Ack(multiple); err != nil {
		t.Fatalf("ack tag %d: %v", d.DeliveryTag, err)
	}
}

// settledAtBroker closes the channel cleanly and checks how many messages
// the broker still holds: acks that went missing or hit the wrong delivery
// show up here (or as a 406 channel error before).
func settledAtBroker(t *testing.T, h *harness, ch *channel, q string, wantLeft int) {
	t.Helper()
	ch.healthy(t)
	if err := ch.Close(); err != nil {
		t.Fatalf("close channel: %v", err)
	}
	if n := queueDepth(t, h.direct, q); n != wantLeft {
		t.Fatalf("queue holds %d messages after the channel closed, want %d", n, wantLeft)
	}
}

func strictlyIncreasing(t *testing.T, ds []amqp.Delivery) {
	t.Helper()
	for i := 1; i < len(ds); i++ {
		if ds[i].DeliveryTag <= ds[i-1].DeliveryTag {
			t.Fatalf("delivery tags not increasing: %v", tags(ds))
		}
	}
}

func TestDuplicateDelivery(t *testing.T) {
	h := newHarness(t, Rule{Fault: DuplicateDelivery, Match: Match{Type: "Dup"}})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	publishConfirmed(t, ch, q, msg("a1", "Other"), msg("b1", "Dup"), msg("c1", "Other"), msg("a2", "Other"), msg("b2", "Dup"), msg("c2", "Other"))
	dl := consume(t, ch, q, 50)

	// Round 1: every copy acked on its own; the second ack of b1 must not
	// reach the broker (it would be a 406 unknown delivery tag).
	got := receive(t, dl, 4, 5*time.Second)
	if want := []string{"a1", "b1", "b1", "c1"}; !slices.Equal(ids(got), want) {
		t.Fatalf("message ids %v, want %v", ids(got), want)
	}
	strictlyIncreasing(t, got)
	if !slices.Equal(got[1].Body, got[2].Body) || got[1].Type != "Dup" || got[2].Type != "Dup" {
		t.Fatal("the duplicate differs from the original")
	}
	for _, d := range got {
		ack(t, d, false)
	}
	// Round 2: one multiple ack over a duplicated pair.
	got2 := receive(t, dl, 4, 5*time.Second)
	if want := []string{"a2", "b2", "b2", "c2"}; !slices.Equal(ids(got2), want) {
		t.Fatalf("message ids %v, want %v", ids(got2), want)
	}
	strictlyIncreasing(t, append(got, got2...))
	ack(t, got2[3], true)
	none(t, dl, 200*time.Millisecond)
	settledAtBroker(t, h, ch, q, 0)

	ev := h.p.Evidence()
	if ev.Counts[DuplicateDelivery] != 2 || len(ev.Events) != 2 || ev.Events[0].MessageID != "b1" || ev.Events[1].MessageID != "b2" {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestReorderDeliveriesWithinWindow(t *testing.T) {
	h := newHarness(t, Rule{Fault: Reorder, Window: 4, Delay: Duration(2 * time.Second), Match: Match{Type: "Version"}, Limit: 1})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	versions := []string{"v1", "v2", "v3", "v4", "v5"}
	var msgs []amqp.Publishing
	for _, v := range versions {
		msgs = append(msgs, msg(v, "Version"))
	}
	publishConfirmed(t, ch, q, msgs...)
	dl := consume(t, ch, q, 50)
	got := receive(t, dl, 5, 5*time.Second)
	strictlyIncreasing(t, got)
	first4 := ids(got[:4])
	if slices.Equal(first4, versions[:4]) {
		t.Fatalf("window not reordered: %v", first4)
	}
	if sorted := slices.Sorted(slices.Values(first4)); !slices.Equal(sorted, versions[:4]) || got[4].MessageId != "v5" {
		t.Fatalf("window content %v then %s, want a permutation of v1..v4 then v5", first4, got[4].MessageId)
	}
	// Settle out of order: the second delivery alone, then everything up to
	// the fourth with one multiple ack, then the rest. The client's multiple
	// ack covers broker tags that are not a prefix, so the proxy must split it.
	ack(t, got[1], false)
	ack(t, got[3], true)
	ack(t, got[4], false)
	settledAtBroker(t, h, ch, q, 0)
	ev := h.p.Evidence()
	if ev.Counts[Reorder] != 1 || len(ev.Events) != 1 {
		t.Fatalf("evidence %+v", ev)
	}
	t.Logf("evidence: %s", ev.Events[0].Detail)
}

// A prefetch-1 consumer takes one delivery at a time, so no window could
// fill in front of it; a reorder rule with Prefetch raises the prefetch of
// channels opened while it is installed, and the window fills.
func TestReorderRaisesPrefetchOfChannelsOpenedUnderTheRule(t *testing.T) {
	h := newHarness(t)
	conn := h.dial()
	pub := openChannel(t, conn)
	q := declareQueue(t, pub, h.direct)
	publishConfirmed(t, pub, q, msg("v1", "Version"), msg("v2", "Version"), msg("v3", "Version"), msg("v4", "Version"))
	if _, err := h.p.AddRule(Rule{Fault: Reorder, Window: 3, Prefetch: 3, Delay: Duration(2 * time.Second),
		Match: Match{Type: "Version"}, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	ch := openChannel(t, conn)
	dl := consume(t, ch, q, 1)
	// With the consumer's prefetch of 1 the broker would send one message
	// and wait for its ack: the window would close after 2 s with one.
	got := receive(t, dl, 3, 5*time.Second)
	first3 := ids(got)
	if slices.Equal(first3, []string{"v1", "v2", "v3"}) {
		t.Fatalf("window not reordered: %v", first3)
	}
	if sorted := slices.Sorted(slices.Values(first3)); !slices.Equal(sorted, []string{"v1", "v2", "v3"}) {
		t.Fatalf("window %v, want a permutation of v1..v3", first3)
	}
	for _, d := range got {
		ack(t, d, false)
	}
	last := receive(t, dl, 1, 5*time.Second)
	if last[0].MessageId != "v4" {
		t.Fatalf("then %s, want v4", last[0].MessageId)
	}
	ack(t, last[0], false)
	settledAtBroker(t, h, ch, q, 0)
	if ev := h.p.Evidence(); ev.Counts[Reorder] != 1 {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestDroppedAckIsRedeliveredAfterReconnect(t *testing.T) {
	// An ack timeout far beyond the test: the reconnect, not the timer,
	// brings m2 back, and closing the connection releases the timer.
	long := Duration(10 * time.Minute)
	h := newHarness(t, Rule{ID: "drop", Fault: DropAck, Match: Match{MessageID: "m2"}, Limit: 1, AckTimeout: &long})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	publishConfirmed(t, ch, q, msg("m1", "T"), msg("m2", "T"), msg("m3", "T"), msg("m4", "T"))
	dl := consume(t, ch, q, 50)
	got := receive(t, dl, 4, 5*time.Second)
	if !slices.Equal(ids(got), []string{"m1", "m2", "m3", "m4"}) || !slices.Equal(tags(got), []uint64{1, 2, 3, 4}) {
		t.Fatalf("deliveries %v tags %v", ids(got), tags(got))
	}
	ack(t, got[1], false) // swallowed
	ack(t, got[2], true)  // covers m1..m3 for the client; must not ack m2 at the broker
	ack(t, got[3], false)
	none(t, dl, 200*time.Millisecond)
	ch.healthy(t)
	if n := h.p.Count(DropAck); n != 1 {
		t.Fatalf("drop-ack count %d", n)
	}
	if ev := h.p.Evidence(); ev.Events[0].MessageID != "m2" || ev.AckTimers["drop"] != 1 {
		t.Fatalf("evidence %+v", ev)
	}
	// The broker still holds m2 unacked; a reconnect gets it back redelivered.
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		if ev := h.p.Evidence(); len(ev.AckTimers) > 0 || ev.Counts[AckTimedOut] != 0 {
			return fmt.Errorf("after the connection closed: ack timers %v, ack timeouts %d", ev.AckTimers, ev.Counts[AckTimedOut])
		}
		return nil
	})
	conn2 := h.dial()
	ch2 := openChannel(t, conn2)
	again := receive(t, consume(t, ch2, q, 10), 1, 5*time.Second)
	if again[0].MessageId != "m2" || !again[0].Redelivered {
		t.Fatalf("after reconnect: %q redelivered=%v, want m2 redelivered", again[0].MessageId, again[0].Redelivered)
	}
	ack(t, again[0], false)
	settledAtBroker(t, h, ch2, q, 0)
}

// A dropped ack with an ack timeout ends as RabbitMQ's consumer_timeout
// ends it: the consumer's channel is closed with 406, the broker requeues
// the delivery and a new consumer gets it again, redelivered. Without a
// timeout (queue A) the prefetch-1 consumer stalls: its one unacked delivery
// blocks the rest of its queue for as long as queue B took to time out,
// recover and drain.
func TestDroppedAckTimesOutLikeConsumerTimeout(t *testing.T) {
	never, timeout := Duration(0), Duration(1500*time.Millisecond)
	h := newHarness(t)
	setup := openChannel(t, h.dial())
	qa, qb := declareQueue(t, setup, h.direct), declareQueue(t, setup, h.direct)
	for _, r := range []Rule{
		{ID: "a", Fault: DropAck, Match: Match{Queue: qa}, Limit: 1, AckTimeout: &never},
		{ID: "b", Fault: DropAck, Match: Match{Queue: qb}, Limit: 1, AckTimeout: &timeout},
	} {
		if _, err := h.p.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	publishConfirmed(t, setup, qa, msg("a1", "T"), msg("a2", "T"), msg("a3", "T"))
	publishConfirmed(t, setup, qb, msg("b1", "T"), msg("b2", "T"), msg("b3", "T"))

	connA, connB := h.dial(), h.dial()
	chA, chB := openChannel(t, connA), openChannel(t, connB)
	dlA, dlB := consume(t, chA, qa, 1), consume(t, chB, qb, 1)
	a1, b1 := receive(t, dlA, 1, 5*time.Second)[0], receive(t, dlB, 1, 5*time.Second)[0]
	if a1.MessageId != "a1" || b1.MessageId != "b1" {
		t.Fatalf("first deliveries %q and %q", a1.MessageId, b1.MessageId)
	}
	ack(t, a1, false) // swallowed, never times out
	ack(t, b1, false) // swallowed, times out
	acked := time.Now()

	select {
	case err := <-chB.closed:
		want := fmt.Sprintf("PRECONDITION_FAILED - delivery acknowledgement on channel %d timed out. Timeout value used: 1500 ms.", 1)
		if err == nil || err.Code != 406 || !err.Server || !strings.HasPrefix(err.Reason, want) {
			t.Fatalf("channel B closed with %+v, want server error 406 %q...", err, want)
		}
		if waited := time.Since(acked); waited < time.Duration(timeout) {
			t.Fatalf("channel closed %s after the ack, before the ack timeout of %s", waited, time.Duration(timeout))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("channel B not closed by the ack timeout")
	}
	if connB.IsClosed() {
		t.Fatal("the ack timeout closed the connection, not only the channel")
	}
	// The broker requeued b1: a new channel gets it again, flagged
	// redelivered, then the rest of the queue.
	chB2 := openChannel(t, connB)
	dlB2 := consume(t, chB2, qb, 10)
	rest := receive(t, dlB2, 1, 5*time.Second)[0]
	if rest.MessageId != "b1" || !rest.Redelivered {
		t.Fatalf("after the ack timeout: %q redelivered=%v, want b1 redelivered", rest.MessageId, rest.Redelivered)
	}
	ack(t, rest, false) // the rule is spent: this ack reaches the broker
	ack(t, receive(t, dlB2, 2, 5*time.Second)[1], true)
	settledAtBroker(t, h, chB2, qb, 0)

	// Meanwhile consumer A got nothing beyond a1: the broker holds a1
	// unacked and hands a prefetch-1 consumer nothing more.
	select {
	case d := <-dlA:
		t.Fatalf("consumer A got %q although a1 is unacked at the broker", d.MessageId)
	default:
	}
	chA.healthy(t)
	if n := queueDepth(t, h.direct, qa); n != 2 {
		t.Fatalf("queue A holds %d ready messages, want 2 (a2, a3 behind the unacked a1)", n)
	}
	// The management API agrees, once its statistics caught up: one
	// unacked, two ready.
	if mgmt := labtest.SharedBroker(t).ManagementURL; mgmt != "" {
		labtest.Eventually(t, 10*time.Second, func() error {
			ready, unacked, err := queueCounts(t.Context(), mgmt, qa)
			if err == nil && (ready != 2 || unacked != 1) {
				err = fmt.Errorf("queue A: %d ready, %d unacked; want 2 and 1", ready, unacked)
			}
			return err
		})
	}
	ev := h.p.Evidence()
	if ev.Counts[DropAck] != 2 || ev.Counts[AckTimedOut] != 1 || len(ev.AckTimers) != 0 {
		t.Fatalf("evidence counts %v, ack timers %v; want 2 dropped acks, 1 ack timeout, no timer left", ev.Counts, ev.AckTimers)
	}
	if e := ev.Events[len(ev.Events)-1]; e.Fault != AckTimedOut || e.Rule != "b" || e.MessageID != "b1" {
		t.Fatalf("last event %+v, want the ack timeout of b1", e)
	}
	// Only closing A's connection brings a1 back.
	if err := connA.Close(); err != nil {
		t.Fatal(err)
	}
	chA2 := openChannel(t, h.dial())
	again := receive(t, consume(t, chA2, qa, 10), 3, 5*time.Second)
	if !slices.Equal(ids(again), []string{"a1", "a2", "a3"}) || !again[0].Redelivered {
		t.Fatalf("after closing A: %v (a1 redelivered=%v), want a1 redelivered, then a2, a3", ids(again), again[0].Redelivered)
	}
	ack(t, again[2], true)
	settledAtBroker(t, h, chA2, qa, 0)
}

func TestDuplicatePublishKeepsConfirmsConsistent(t *testing.T) {
	h := newHarness(t, Rule{Fault: DuplicatePublish, Match: Match{Type: "Twice"}})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 16))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var dcs []*amqp.DeferredConfirmation
	for _, m := range []amqp.Publishing{msg("p1", "Once"), msg("p2", "Twice"), msg("p3", "Once"), msg("p4", "Twice"), msg("p5", "Once")} {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, m)
		if err != nil {
			t.Fatal(err)
		}
		dcs = append(dcs, dc)
	}
	for i, dc := range dcs {
		if ok, err := dc.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("confirm %d: ack=%v err=%v", i+1, ok, err)
		}
	}
	for want := uint64(1); want <= 5; want++ {
		select {
		case c := <-confirms:
			if c.DeliveryTag != want || !c.Ack {
				t.Fatalf("confirm %+v, want tag %d ack", c, want)
			}
		case <-ctx.Done():
			t.Fatalf("confirm %d missing", want)
		}
	}
	select {
	case c := <-confirms:
		t.Fatalf("extra confirm %+v", c)
	case <-time.After(200 * time.Millisecond):
	}
	ch.healthy(t)
	if n := queueDepth(t, h.direct, q); n != 7 {
		t.Fatalf("queue holds %d messages, want 7 (5 publishes, 2 duplicated)", n)
	}
	// The copies are genuine duplicates: same message id, delivered twice.
	dl := consume(t, ch, q, 50)
	got := receive(t, dl, 7, 5*time.Second)
	if want := []string{"p1", "p2", "p2", "p3", "p4", "p4", "p5"}; !slices.Equal(ids(got), want) {
		t.Fatalf("queue content %v, want %v", ids(got), want)
	}
	ack(t, got[6], true)
	settledAtBroker(t, h, ch, q, 0)
	if n := h.p.Count(DuplicatePublish); n != 2 {
		t.Fatalf("duplicate-publish count %d", n)
	}
}

func TestDroppedConfirmTimesOutThePublisher(t *testing.T) {
	h := newHarness(t, Rule{Fault: DropConfirm, Match: Match{MessageID: "c2"}, Limit: 1})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var dcs []*amqp.DeferredConfirmation
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, msg(id, "T"))
		if err != nil {
			t.Fatal(err)
		}
		dcs = append(dcs, dc)
	}
	for _, i := range []int{0, 2, 3} {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := dcs[i].WaitContext(wctx)
		cancel()
		if !ok || err != nil {
			t.Fatalf("confirm of publish %d: ack=%v err=%v", i+1, ok, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	ok, err := dcs[1].WaitContext(wctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("confirm of the dropped publish: ack=%v err=%v, want a timeout", ok, err)
	}
	// The publisher republishes after its timeout: a genuine duplicate.
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false, msg("c2", "T"))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel = context.WithTimeout(ctx, 5*time.Second)
	ok, err = dc.WaitContext(wctx)
	cancel()
	if !ok || err != nil {
		t.Fatalf("confirm of the republish: ack=%v err=%v", ok, err)
	}
	ch.healthy(t)
	if n := queueDepth(t, h.direct, q); n != 5 {
		t.Fatalf("queue holds %d messages, want 5 (c2 twice)", n)
	}
	ev := h.p.Evidence()
	if ev.Counts[DropConfirm] != 1 || ev.Events[0].MessageID != "c2" {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestDelayedConfirmArrivesLate(t *testing.T) {
	const delay = 400 * time.Millisecond
	h := newHarness(t, Rule{Fault: DelayConfirm, Delay: Duration(delay), Match: Match{MessageID: "slow"}})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	slow, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", q, false, false, msg("slow", "T"))
	if err != nil {
		t.Fatal(err)
	}
	fast, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", q, false, false, msg("fast", "T"))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if ok, err := fast.WaitContext(wctx); !ok || err != nil {
		t.Fatalf("fast confirm: %v %v", ok, err)
	}
	// On a loaded machine the fast confirm may itself take longer than the
	// delay; only when it did not must the delayed one still be pending.
	if time.Since(start) < delay/2 && slow.Acked() {
		t.Fatal("delayed confirm arrived with the undelayed one")
	}
	if ok, err := slow.WaitContext(wctx); !ok || err != nil {
		t.Fatalf("delayed confirm: %v %v", ok, err)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("delayed confirm after %s, want >= %s", el, delay)
	}
	ch.healthy(t)
	if n := h.p.Count(DelayConfirm); n != 1 {
		t.Fatalf("delay-confirm count %d", n)
	}
}

func TestDelayOneRoutingKey(t *testing.T) {
	const delay = 300 * time.Millisecond
	h := newHarness(t, Rule{Fault: DelayDelivery, Delay: Duration(delay), Match: Match{RoutingKey: "slow"}})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	for _, key := range []string{"slow", "fast"} {
		if err := ch.QueueBind(q, key, "amq.direct", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ key, id string }{{"slow", "s1"}, {"fast", "f1"}, {"fast", "f2"}} {
		dc, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "amq.direct", m.key, false, false, msg(m.id, "T"))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := dc.WaitContext(t.Context()); !ok || err != nil {
			t.Fatalf("confirm %s: %v %v", m.id, ok, err)
		}
	}
	start := time.Now()
	dl := consume(t, ch, q, 50)
	got := receive(t, dl, 3, 5*time.Second)
	if want := []string{"f1", "f2", "s1"}; !slices.Equal(ids(got), want) {
		t.Fatalf("order %v, want %v", ids(got), want)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("slow key arrived after %s, want >= %s", el, delay)
	}
	strictlyIncreasing(t, got)
	ack(t, got[0], false)
	ack(t, got[2], true)
	settledAtBroker(t, h, ch, q, 0)
}

func TestInjectedChannelCloseCarriesReplyCode(t *testing.T) {
	h := newHarness(t, Rule{Fault: ChannelClose, ReplyCode: 406, ReplyText: "PRECONDITION_FAILED - injected", Match: Match{Type: "Poison"}, Limit: 1})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	publishConfirmed(t, ch, q, msg("ok1", "T"), msg("poison", "Poison"), msg("ok2", "T"))
	dl := consume(t, ch, q, 1)
	first := receive(t, dl, 1, 5*time.Second)[0]
	if first.MessageId != "ok1" {
		t.Fatalf("first delivery %q", first.MessageId)
	}
	ack(t, first, false)
	select {
	case err := <-ch.closed:
		if err == nil || err.Code != 406 || err.Reason != "PRECONDITION_FAILED - injected" || !err.Server {
			t.Fatalf("channel closed with %+v, want server error 406", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed")
	}
	// Only the channel died: the connection carries on, and the poison
	// message is back in the queue with the next one.
	if conn.IsClosed() {
		t.Fatal("connection closed with the channel")
	}
	ch2 := openChannel(t, conn)
	rest := receive(t, consume(t, ch2, q, 10), 2, 5*time.Second)
	if !slices.Equal(ids(rest), []string{"poison", "ok2"}) || !rest[0].Redelivered {
		t.Fatalf("after the close: %v (redelivered %v)", ids(rest), rest[0].Redelivered)
	}
	ack(t, rest[1], true)
	settledAtBroker(t, h, ch2, q, 0)
	if ev := h.p.Evidence(); ev.Counts[ChannelClose] != 1 || ev.Events[0].MessageID != "poison" {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestInjectedChannelCloseOnPublish(t *testing.T) {
	h := newHarness(t, Rule{Fault: ChannelClose, On: OnPublish, ReplyCode: 404, ReplyText: "NOT_FOUND - injected", Match: Match{Type: "Lost"}})
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	publishConfirmed(t, ch, q, msg("kept", "T"))
	if err := ch.Publish("", q, false, false, msg("lost", "Lost")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch.closed:
		if err == nil || err.Code != 404 {
			t.Fatalf("channel closed with %+v, want 404", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed")
	}
	if n := queueDepth(t, h.direct, q); n != 1 {
		t.Fatalf("queue holds %d, want only the message published before the close", n)
	}
	ch2 := openChannel(t, conn)
	publishConfirmed(t, ch2, q, msg("after", "T"))
	ch2.healthy(t)
}

func TestInjectedConnectionCloseCarriesReplyCode(t *testing.T) {
	h := newHarness(t, Rule{Fault: ConnectionClose, On: OnPublish, ReplyCode: 320, Match: Match{Type: "Kill"}})
	h.connCloseExpected = true
	conn := h.dial()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	if err := ch.Publish("", q, false, false, msg("k", "Kill")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err == nil || err.Code != 320 || !err.Server {
			t.Fatalf("connection closed with %+v, want server error 320", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
	labtest.Eventually(t, 5*time.Second, func() error {
		if n := h.p.Connections(); n != 0 {
			return fmt.Errorf("%d proxied connections remain", n)
		}
		return nil
	})
	// A fresh connection through the proxy works.
	ch2 := openChannel(t, h.dial())
	publishConfirmed(t, ch2, q, msg("after", "T"))
	if n := queueDepth(t, h.direct, q); n != 1 {
		t.Fatalf("queue holds %d, want only the message published after the close", n)
	}
}

// queueCounts reads a queue's ready and unacknowledged message counts in
// the default vhost from the management API.
func queueCounts(ctx context.Context, mgmt, q string) (ready, unacked int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mgmt+"/api/queues/%2F/"+url.PathEscape(q), nil)
	if err != nil {
		return 0, 0, err
	}
	req.SetBasicAuth("guest", "guest")
	req.Close = true // no idle connection left for the leak check
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("management API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("management API: queue %s: %s", q, resp.Status)
	}
	var body struct {
		Ready   *int `json:"messages_ready"`
		Unacked *int `json:"messages_unacknowledged"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, 0, fmt.Errorf("management API: queue %s: %w", q, err)
	}
	if body.Ready == nil || body.Unacked == nil {
		return 0, 0, fmt.Errorf("management API: queue %s has no message statistics yet", q)
	}
	return *body.Ready, *body.Unacked, nil
}
