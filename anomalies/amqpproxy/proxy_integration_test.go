//go:build integration

package amqpproxy

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestPassThroughWithoutRules(t *testing.T) {
	h := newHarness(t)
	conn := h.dial()
	ch := openChannel(t, conn)
	q := declareQueue(t, ch, h.direct)
	var msgs []amqp.Publishing
	for i := range 50 {
		msgs = append(msgs, msg(fmt.Sprintf("m%d", i), "Test"))
	}
	publishConfirmed(t, ch, q, msgs...)
	if err := ch.Qos(20, 0, false); err != nil {
		t.Fatal(err)
	}
	dl, err := ch.Consume(q, "c1", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		d := receive(t, dl, 1, 10*time.Second)[0]
		if d.MessageId != fmt.Sprintf("m%d", i) || d.DeliveryTag != uint64(i+1) || string(d.Body) != "body of "+d.MessageId {
			t.Fatalf("delivery %d: id %q tag %d body %q", i, d.MessageId, d.DeliveryTag, d.Body)
		}
		if (i+1)%10 == 0 {
			if err := d.Ack(true); err != nil {
				t.Fatal(err)
			}
		}
	}
	ch.healthy(t)
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if n := queueDepth(t, h.direct, q); n != 0 {
		t.Fatalf("%d messages left in the queue: acks did not reach the broker", n)
	}
	if ev := h.p.Evidence(); len(ev.Events) != 0 {
		t.Fatalf("evidence without rules: %+v", ev)
	}
}
