package amqpproxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy/wire"
)

// FuzzLinkFrames feeds arbitrary frame sequences, from both peers, through
// a link with every kind of rule installed: whatever a hostile or broken
// peer sends, the proxy must not panic or deadlock. Each input byte before a
// frame picks its direction. The seed corpus is a realistic conversation
// and runs in the normal `go test`; explore with
// `go test -fuzz FuzzLinkFrames ./anomalies/amqpproxy`.
func FuzzLinkFrames(f *testing.F) {
	f.Add(conversationSeed())
	f.Add([]byte{1, 1, 0, 1, 0, 0, 0, 0, 0xCE})

	p, err := New(Config{Upstream: "127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	for _, r := range fuzzRules() {
		if _, err := p.AddRule(r); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLink(p, data) })
}

// fuzzRules installs one rule of every fault, keyed on message types the
// seed conversation uses.
func fuzzRules() []Rule {
	return []Rule{
		{Fault: DuplicateDelivery, Match: Match{Type: "Dup"}},
		{Fault: Reorder, Window: 2, Delay: Duration(time.Millisecond), Match: Match{Type: "Reorder"}},
		{Fault: DelayDelivery, Delay: Duration(time.Millisecond), Match: Match{Type: "B"}},
		{Fault: DropAck, Match: Match{Type: "Drop"}},
		{Fault: DuplicatePublish, Match: Match{Type: "Dup"}},
		{Fault: DropConfirm, Match: Match{Type: "Drop"}},
		{Fault: DelayConfirm, Delay: Duration(time.Millisecond), Match: Match{Type: "B"}},
		{Fault: ChannelClose, Match: Match{Type: "Close"}},
		{Fault: ConnectionClose, On: OnPublish, Match: Match{Type: "Kill"}},
	}
}

// conversationSeed is a realistic exchange: channel and consumer set-up,
// publishes, confirms, deliveries and acks of messages that trigger every
// rule of fuzzLink, then a channel re-open and a connection close.
func conversationSeed() []byte {
	var conv []byte
	add := func(fromBroker bool, frames ...[]byte) {
		for _, fr := range frames {
			if fromBroker {
				conv = append(conv, 1)
			} else {
				conv = append(conv, 0)
			}
			conv = append(conv, fr...)
		}
	}
	frame := func(ch uint16, m wire.Method) []byte { b, _ := wire.AppendMethodFrame(nil, ch, m); return b }
	hdr := func(ch uint16, id, typ string) []byte {
		b, _ := wire.AppendHeaderFrame(nil, ch, wire.ContentHeader{ClassID: 60, BodySize: 3, Properties: wire.Properties{MessageID: id, Type: typ}})
		return b
	}
	add(false, frame(1, &wire.ChannelOpen{}), frame(1, &wire.ConfirmSelect{}), frame(1, &wire.BasicConsume{Queue: "q", ConsumerTag: "c"}))
	add(true, frame(1, &wire.ChannelOpenOk{}), frame(1, &wire.ConfirmSelectOk{}), frame(1, &wire.BasicConsumeOk{ConsumerTag: "c"}))
	for i, typ := range []string{"A", "B", "Dup", "Reorder", "Reorder", "Drop", "Close", "A"} {
		id := string(rune('a' + i))
		add(false, frame(1, &wire.BasicPublish{RoutingKey: "q"}), hdr(1, id, typ), bodyFrame(1, "abc"))
		add(true, frame(1, &wire.BasicAck{DeliveryTag: uint64(i + 1)}))
		add(true, frame(1, &wire.BasicDeliver{ConsumerTag: "c", DeliveryTag: uint64(i + 1), RoutingKey: "q"}), hdr(1, id, typ), bodyFrame(1, "abc"))
		add(false, frame(1, &wire.BasicAck{DeliveryTag: uint64(i + 1), Multiple: i%3 == 0}))
	}
	add(false, frame(1, &wire.ChannelCloseOk{}), frame(1, &wire.ChannelOpen{}))
	add(true, frame(1, &wire.ChannelCloseOk{}), frame(0, &wire.ConnectionClose{ReplyCode: 320}))
	add(false, frame(0, &wire.ConnectionCloseOk{}))
	return conv
}

// fuzzLink runs data through a fresh link of p, both directions.
func fuzzLink(p *Proxy, data []byte) {
	a, b := net.Pipe()
	l := newLink(p, 1, a, b)
	for _, w := range l.w {
		w.bw = bufio.NewWriterSize(io.Discard, 4096)
	}
	pumps := [2]*pump{{l: l, d: toBroker, w: l.w[toBroker]}, {l: l, d: toClient, w: l.w[toClient]}}
	for len(data) > 1 {
		pm := pumps[data[0]&1]
		fr, n, err := wire.ParseFrame(data[1:])
		if err != nil {
			break
		}
		raw := append([]byte(nil), data[1:1+n]...)
		pm.process(fr.Type, fr.Channel, raw)
		data = data[1+n:]
	}
	l.shutdown(nil)
	l.tasks.Wait()
}
