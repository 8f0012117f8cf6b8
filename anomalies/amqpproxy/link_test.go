package amqpproxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy/wire"
)

func mustFrame(t testing.TB, ch uint16, m wire.Method) []byte {
	t.Helper()
	b, err := wire.AppendMethodFrame(nil, ch, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func headerFrame(t testing.TB, ch uint16, size uint64, props wire.Properties) []byte {
	t.Helper()
	b, err := wire.AppendHeaderFrame(nil, ch, wire.ContentHeader{ClassID: wire.ClassBasic, BodySize: size, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bodyFrame(ch uint16, body string) []byte {
	return wire.AppendFrame(nil, wire.Frame{Type: wire.FrameBody, Channel: ch, Payload: []byte(body)})
}

func testProxy(t *testing.T, upstream string) *Proxy {
	t.Helper()
	p, err := New(Config{Upstream: upstream, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// peer is one end of a scripted AMQP conversation.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func newPeer(t *testing.T, c net.Conn) *peer {
	t.Cleanup(func() { _ = c.Close() })
	return &peer{t: t, conn: c, r: bufio.NewReader(c)}
}

func (p *peer) send(frames ...[]byte) {
	p.t.Helper()
	for _, f := range frames {
		if _, err := p.conn.Write(f); err != nil {
			p.t.Fatalf("write: %v", err)
		}
	}
}

// next reads one frame within 5 s.
func (p *peer) next() (wire.Frame, wire.Method) {
	p.t.Helper()
	f, m, err := p.read(5 * time.Second)
	if err != nil {
		p.t.Fatalf("read frame: %v", err)
	}
	return f, m
}

func (p *peer) read(wait time.Duration) (wire.Frame, wire.Method, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(wait))
	defer p.conn.SetReadDeadline(time.Time{})
	hdr, err := p.r.Peek(wire.HeaderSize)
	if err != nil {
		return wire.Frame{}, nil, err
	}
	_, _, size := wire.PeekHeader(hdr)
	buf := make([]byte, int(size)+wire.Overhead)
	if _, err := io.ReadFull(p.r, buf); err != nil {
		return wire.Frame{}, nil, err
	}
	f, _, err := wire.ParseFrame(buf)
	if err != nil {
		return f, nil, err
	}
	var m wire.Method
	if f.Type == wire.FrameMethod {
		m, _ = wire.ParseMethod(f.Payload)
	}
	return f, m, nil
}

// quiet asserts that nothing arrives within wait.
func (p *peer) quiet(wait time.Duration) {
	p.t.Helper()
	f, m, err := p.read(wait)
	if err == nil {
		p.t.Fatalf("unexpected frame type %d channel %d: %#v", f.Type, f.Channel, m)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		p.t.Fatalf("waiting for silence: %v", err)
	}
}

func expect[M wire.Method](t *testing.T, p *peer, ch uint16) M {
	t.Helper()
	f, m := p.next()
	got, ok := m.(M)
	if !ok || f.Channel != ch {
		var want M
		t.Fatalf("got %#v on channel %d, want %T on channel %d", m, f.Channel, want, ch)
	}
	return got
}

// scripted connects a raw client through the proxy to a raw fake broker.
func scripted(t *testing.T, rules ...Rule) (client, broker *peer, p *Proxy) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p = testProxy(t, ln.Addr().String())
	for _, r := range rules {
		if _, err := p.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	client = newPeer(t, c)
	client.send(wire.ProtocolHeader[:])
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	broker = newPeer(t, b)
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(broker.r, hdr); err != nil || !bytes.Equal(hdr, wire.ProtocolHeader[:]) {
		t.Fatalf("broker got protocol header %q, %v", hdr, err)
	}
	return client, broker, p
}

func openConsumer(t *testing.T, client, broker *peer, ch uint16) {
	t.Helper()
	client.send(mustFrame(t, ch, &wire.ChannelOpen{}))
	expect[*wire.ChannelOpen](t, broker, ch)
	broker.send(mustFrame(t, ch, &wire.ChannelOpenOk{}))
	expect[*wire.ChannelOpenOk](t, client, ch)
	client.send(mustFrame(t, ch, &wire.BasicConsume{Queue: "q", ConsumerTag: "c"}))
	expect[*wire.BasicConsume](t, broker, ch)
	broker.send(mustFrame(t, ch, &wire.BasicConsumeOk{ConsumerTag: "c"}))
	expect[*wire.BasicConsumeOk](t, client, ch)
}

func deliver(t *testing.T, broker *peer, ch uint16, tag uint64, id, typ string) {
	broker.send(
		mustFrame(t, ch, &wire.BasicDeliver{ConsumerTag: "c", DeliveryTag: tag, RoutingKey: "q"}),
		headerFrame(t, ch, 3, wire.Properties{MessageID: id, Type: typ}),
		bodyFrame(ch, "abc"),
	)
}

// TestInjectedCloseHoldsChannelReopenUntilBrokerClosed plays the race the
// proxy must handle: the client answers the injected channel.close and
// re-opens the same channel id before the broker has confirmed its own
// close. The re-open must reach the broker only after its close-ok, and no
// close-ok may leak to the peer that did not ask for it.
func TestInjectedCloseHoldsChannelReopenUntilBrokerClosed(t *testing.T) {
	client, broker, p := scripted(t, Rule{Fault: ChannelClose, ReplyCode: 406, ReplyText: "PRECONDITION_FAILED - test", Match: Match{Type: "Poison"}})
	openConsumer(t, client, broker, 1)

	deliver(t, broker, 1, 1, "m1", "Poison")
	cc := expect[*wire.ChannelClose](t, client, 1)
	if cc.ReplyCode != 406 || cc.ReplyText != "PRECONDITION_FAILED - test" {
		t.Fatalf("client got %+v", cc)
	}
	if bc := expect[*wire.ChannelClose](t, broker, 1); bc.ReplyCode != 200 {
		t.Fatalf("broker got %+v, want a normal close", bc)
	}
	// Deliveries the broker sent before it saw the close are dropped.
	deliver(t, broker, 1, 2, "m2", "Other")
	client.send(mustFrame(t, 1, &wire.ChannelCloseOk{}), mustFrame(t, 1, &wire.ChannelOpen{}))
	broker.quiet(150 * time.Millisecond)
	client.quiet(10 * time.Millisecond)

	broker.send(mustFrame(t, 1, &wire.ChannelCloseOk{}))
	expect[*wire.ChannelOpen](t, broker, 1)
	broker.send(mustFrame(t, 1, &wire.ChannelOpenOk{}))
	expect[*wire.ChannelOpenOk](t, client, 1)

	// The re-opened channel starts afresh: tag 1 again, passed through.
	client.send(mustFrame(t, 1, &wire.BasicConsume{Queue: "q", ConsumerTag: "c"}))
	expect[*wire.BasicConsume](t, broker, 1)
	broker.send(mustFrame(t, 1, &wire.BasicConsumeOk{ConsumerTag: "c"}))
	expect[*wire.BasicConsumeOk](t, client, 1)
	deliver(t, broker, 1, 1, "m3", "Other")
	if d := expect[*wire.BasicDeliver](t, client, 1); d.DeliveryTag != 1 {
		t.Fatalf("delivery after re-open has tag %d", d.DeliveryTag)
	}
	if ev := p.Evidence(); ev.Counts[ChannelClose] != 1 || ev.Events[0].MessageID != "m1" {
		t.Fatalf("evidence %+v", ev)
	}
}

// TestCrossingChannelCloses: the client closes the channel itself while
// the proxy's injected close is in flight; both must get their close-ok.
func TestCrossingChannelCloses(t *testing.T) {
	client, broker, _ := scripted(t, Rule{Fault: ChannelClose, Match: Match{Type: "Poison"}})
	openConsumer(t, client, broker, 3)
	deliver(t, broker, 3, 1, "m1", "Poison")
	expect[*wire.ChannelClose](t, client, 3)
	expect[*wire.ChannelClose](t, broker, 3)
	client.send(mustFrame(t, 3, &wire.ChannelClose{ReplyCode: 200}))
	expect[*wire.ChannelCloseOk](t, client, 3)
	client.send(mustFrame(t, 3, &wire.ChannelCloseOk{}))
	broker.send(mustFrame(t, 3, &wire.ChannelCloseOk{}))
	broker.quiet(100 * time.Millisecond)
	client.quiet(10 * time.Millisecond)
}

func TestDuplicatedDeliveryOverRawFrames(t *testing.T) {
	client, broker, _ := scripted(t, Rule{Fault: DuplicateDelivery, Match: Match{MessageID: "m2"}})
	openConsumer(t, client, broker, 1)
	deliver(t, broker, 1, 1, "m1", "T")
	deliver(t, broker, 1, 2, "m2", "T")
	deliver(t, broker, 1, 3, "m3", "T")
	for want := uint64(1); want <= 4; want++ {
		d := expect[*wire.BasicDeliver](t, client, 1)
		if d.DeliveryTag != want {
			t.Fatalf("client tag %d, want %d", d.DeliveryTag, want)
		}
		expectType(t, client, wire.FrameHeader)
		expectType(t, client, wire.FrameBody)
	}
	client.send(mustFrame(t, 1, &wire.BasicAck{DeliveryTag: 4, Multiple: true}))
	if a := expect[*wire.BasicAck](t, broker, 1); a.DeliveryTag != 3 || !a.Multiple {
		t.Fatalf("broker got %+v, want ack 3 multiple", a)
	}
}

func expectType(t *testing.T, p *peer, typ uint8) {
	t.Helper()
	if f, _ := p.next(); f.Type != typ {
		t.Fatalf("frame type %d, want %d", f.Type, typ)
	}
}

func TestNonAMQPBytesPassThrough(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := testProxy(t, ln.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	client := newPeer(t, c)
	client.send([]byte("AMQP\x00\x01\x00\x00 and more"))
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	broker := newPeer(t, b)
	got := make([]byte, 17)
	if _, err := io.ReadFull(broker.r, got); err != nil || string(got) != "AMQP\x00\x01\x00\x00 and more" {
		t.Fatalf("broker got %q, %v", got, err)
	}
	broker.send([]byte("AMQP\x00\x00\x09\x01"))
	_ = b.Close()
	back, err := io.ReadAll(client.r)
	if err != nil || string(back) != "AMQP\x00\x00\x09\x01" {
		t.Fatalf("client got %q, %v", back, err)
	}
}

func TestUnreachableUpstreamClosesClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := testProxy(t, addr)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read from a client whose upstream is down: %v, want EOF", err)
	}
}

// TestFastPathDoesNotAllocate runs the frames of a confirmed publish and a
// delivery with its ack through the frame handler with no rule installed:
// the common path must not allocate.
func TestFastPathDoesNotAllocate(t *testing.T) {
	p := testProxy(t, "127.0.0.1:1")
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	l := newLink(p, 1, a, b)
	for _, w := range l.w {
		w.bw = bufio.NewWriterSize(io.Discard, writeBufSize)
	}
	up := &pump{l: l, d: toBroker, w: l.w[toBroker]}
	down := &pump{l: l, d: toClient, w: l.w[toClient]}
	run := func(pm *pump, frames ...[]byte) {
		for _, f := range frames {
			pm.handle(f[0], uint16(f[1])<<8|uint16(f[2]), f)
		}
	}
	run(up, mustFrame(t, 1, &wire.ChannelOpen{}), mustFrame(t, 1, &wire.ConfirmSelect{}),
		mustFrame(t, 1, &wire.BasicConsume{Queue: "q", ConsumerTag: "c"}))
	var (
		publish = mustFrame(t, 1, &wire.BasicPublish{RoutingKey: "q"})
		header  = headerFrame(t, 1, 3, wire.Properties{MessageID: "m", DeliveryMode: 2})
		body    = bodyFrame(1, "abc")
		confirm = mustFrame(t, 1, &wire.BasicAck{})
		dlv     = mustFrame(t, 1, &wire.BasicDeliver{ConsumerTag: "c", RoutingKey: "q"})
		ack     = mustFrame(t, 1, &wire.BasicAck{})
	)
	const tagAt = wire.HeaderSize + 4 // after class and method ids
	dv, _ := wire.DeliverView(dlv[wire.HeaderSize : len(dlv)-1])
	var tag uint64
	allocs := testing.AllocsPerRun(1000, func() {
		tag++
		run(up, publish, header, body)
		wire.PutUint64(confirm, tagAt, tag)
		run(down, confirm)
		wire.PutUint64(dlv, wire.HeaderSize+dv.TagOffset, tag)
		run(down, dlv, header, body)
		wire.PutUint64(ack, tagAt, tag)
		run(up, ack)
	})
	if allocs > 0 {
		t.Fatalf("%.1f allocations per message on the fast path", allocs)
	}
	cs := l.chans[1]
	if tag < 1000 || cs.del.live != 0 || len(cs.conf.q)-cs.conf.head != 0 || cs.del.diverged || cs.conf.diverged {
		t.Fatalf("tables not drained or not identity: %d unsettled deliveries, %d unconfirmed publishes", cs.del.live, len(cs.conf.q)-cs.conf.head)
	}
}

// A reorder rule with Prefetch raises the prefetch count of the qos a
// client sends while the rule is installed; 0 (no limit) and larger counts
// pass unchanged, and so does everything once the rule is gone.
func TestReorderRuleRaisesClientPrefetch(t *testing.T) {
	client, broker, p := scripted(t, Rule{ID: "r", Fault: Reorder, Window: 3, Prefetch: 8})
	for _, c := range []struct{ sent, want uint16 }{{1, 8}, {0, 0}, {20, 20}, {8, 8}} {
		client.send(mustFrame(t, 1, &wire.BasicQos{PrefetchSize: 0, PrefetchCount: c.sent, Global: true}))
		q := expect[*wire.BasicQos](t, broker, 1)
		if q.PrefetchCount != c.want || !q.Global {
			t.Fatalf("qos %d reached the broker as %+v, want count %d", c.sent, q, c.want)
		}
	}
	if err := p.RemoveRule("r"); err != nil {
		t.Fatal(err)
	}
	client.send(mustFrame(t, 1, &wire.BasicQos{PrefetchCount: 1}))
	if q := expect[*wire.BasicQos](t, broker, 1); q.PrefetchCount != 1 {
		t.Fatalf("qos after the rule was removed reached the broker as %+v", q)
	}
	if ev := p.Evidence(); len(ev.Events) != 0 {
		t.Fatalf("raising the prefetch recorded events %+v", ev.Events)
	}
}
