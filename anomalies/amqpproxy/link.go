package amqpproxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies/amqpproxy/wire"
)

const (
	readBufSize  = 256 << 10 // holds a whole frame at RabbitMQ's default frame_max (128 KiB)
	writeBufSize = 256 << 10
	maxFrameSize = 1 << 28
	// closeGrace bounds how long a half-closed or force-closed connection
	// may linger.
	closeGrace = 5 * time.Second
)

// dir is the direction of a frame loop, named after where it writes.
type dir uint8

const (
	toBroker dir = iota // reads the client, writes the broker
	toClient            // reads the broker, writes the client
)

func (d dir) String() string {
	if d == toBroker {
		return "client->broker"
	}
	return "broker->client"
}

// writer is one buffered output. Its mutex orders every write to that side:
// frame loops hold it while handling a frame, timers and cross-direction
// jobs take it before the link's state mutex (lock order: writer, link).
type writer struct {
	mu     sync.Mutex
	bw     *bufio.Writer
	conn   net.Conn
	failed bool
	fail   func(error)
}

func (w *writer) write(b []byte) {
	if w.failed {
		return
	}
	if _, err := w.bw.Write(b); err != nil {
		w.failed = true
		w.fail(err)
	}
}

func (w *writer) flush() {
	if w.failed || w.bw.Buffered() == 0 {
		return
	}
	if err := w.bw.Flush(); err != nil {
		w.failed = true
		w.fail(err)
	}
}

// link is one proxied AMQP connection.
type link struct {
	p      *Proxy
	id     uint64
	log    *slog.Logger
	client net.Conn
	broker net.Conn
	w      [2]*writer

	// special counts channels in an injected close, plus one while the
	// connection is being closed by a fault: while it is zero the frame
	// loops skip the closing checks.
	special atomic.Int32

	mu      sync.Mutex
	chans   map[uint16]*chanState
	closing *connClosing
	closed  bool
	timers  map[*time.Timer]struct{}
	tasks   sync.WaitGroup

	shutOnce sync.Once
}

// chanState is what the proxy knows about one AMQP channel.
type chanState struct {
	id        uint16
	dead      bool
	consumers map[string]consumer
	pending   []consumer // basic.consume awaiting consume-ok for a server-named tag
	gets      []consumer // basic.get awaiting get-ok or get-empty
	del       deliveryTable
	conf      confirmTable
	win       *window
	closing   *chanClosing
	// ackTimers run for the deliveries whose ack a drop-ack rule swallowed.
	ackTimers []*ackTimer
}

// ackTimer is the ack timeout of one delivery whose ack was swallowed.
type ackTimer struct {
	timer *time.Timer
	mark  *mark
}

type consumer struct {
	queue string
	noAck bool
}

// chanClosing tracks a channel the proxy closed: both peers must answer
// with channel.close-ok before the channel id may carry frames again;
// client frames that arrive in between (a re-open) wait in pending.
type chanClosing struct {
	clientDone, brokerDone, releasing bool
	pending                           []byte
}

type connClosing struct{ clientDone, brokerDone bool }

// window is an open reorder window.
type window struct {
	rule  *rule
	msgs  []*capture
	timer *time.Timer
}

// capture is a message the proxy collects whole (method, header, bodies)
// because a rule may act on it.
type capture struct {
	at        Point
	cs        *chanState
	raw       []byte
	tagOff    int // deliveries: offset of the delivery tag in raw
	btag      uint64
	ackReq    bool
	info      msgInfo
	headerOff int // -1 until the content header arrived
	bodySize  uint64
	got       uint64
}

// emission is a frame sequence to write, with a delivery tag to patch in
// first when tagOff > 0.
type emission struct {
	raw    []byte
	tagOff int
	tag    uint64
}

// batch collects the effects of handling one frame or one timer: frames
// for the writer being held, jobs for the other direction (run after that
// writer is released, so that no goroutine holds both writers), and events
// to record once no lock is held.
type batch struct {
	emits  []emission
	jobs   []func()
	events []Event
}

func newLink(p *Proxy, id uint64, client, broker net.Conn) *link {
	l := &link{
		p:      p,
		id:     id,
		log:    p.log.With("conn", id, "client", client.RemoteAddr().String()),
		client: client,
		broker: broker,
		chans:  map[uint16]*chanState{},
		timers: map[*time.Timer]struct{}{},
	}
	fail := func(err error) { l.shutdown(err) }
	l.w[toBroker] = &writer{bw: bufio.NewWriterSize(broker, writeBufSize), conn: broker, fail: fail}
	l.w[toClient] = &writer{bw: bufio.NewWriterSize(client, writeBufSize), conn: client, fail: fail}
	return l
}

// run pumps frames both ways until both sides are done.
func (l *link) run() {
	up := &pump{l: l, d: toBroker, r: bufio.NewReaderSize(l.client, readBufSize), w: l.w[toBroker]}
	down := &pump{l: l, d: toClient, r: bufio.NewReaderSize(l.broker, readBufSize), w: l.w[toClient]}
	done := make(chan struct{}, 2)
	go func() { up.loop(); done <- struct{}{} }()
	go func() { down.loop(); done <- struct{}{} }()
	<-done
	grace := time.NewTimer(closeGrace)
	select {
	case <-done:
	case <-grace.C:
		l.shutdown(errors.New("peer did not close within the grace period"))
		<-done
	}
	grace.Stop()
	l.shutdown(nil)
	l.tasks.Wait()
}

// shutdown closes both sockets once and stops the link's timers.
func (l *link) shutdown(err error) {
	l.shutOnce.Do(func() {
		l.mu.Lock()
		for _, cs := range l.chans {
			l.releaseAckTimers(cs)
		}
		l.closed = true
		for t := range l.timers {
			if t.Stop() {
				l.tasks.Done()
			}
		}
		l.timers = nil
		l.mu.Unlock()
		if err != nil {
			l.log.Debug("Proxied connection closed", "err", err)
		}
		_ = l.client.Close()
		_ = l.broker.Close()
	})
}

// afterFunc runs f after d unless the link closes first. Call with l.mu held.
func (l *link) afterFunc(d time.Duration, f func()) *time.Timer {
	if l.closed {
		return nil
	}
	l.tasks.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer l.tasks.Done()
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return
		}
		delete(l.timers, t)
		l.mu.Unlock()
		f()
	})
	l.timers[t] = struct{}{}
	return t
}

// stopTimer cancels a timer from afterFunc. Call with l.mu held.
func (l *link) stopTimer(t *time.Timer) {
	if t == nil {
		return
	}
	if _, ok := l.timers[t]; ok && t.Stop() {
		delete(l.timers, t)
		l.tasks.Done()
	}
}

// chanFor returns the state of channel id, creating it. Call with l.mu held.
func (l *link) chanFor(id uint16) *chanState {
	cs := l.chans[id]
	if cs == nil {
		cs = &chanState{id: id, consumers: map[string]consumer{}}
		l.chans[id] = cs
	}
	return cs
}

// dropChan forgets channel id; held deliveries die with it (the broker
// requeues them when it closes the channel). Call with l.mu held.
func (l *link) dropChan(id uint16) {
	cs := l.chans[id]
	if cs == nil {
		return
	}
	cs.dead = true
	l.releaseAckTimers(cs)
	if cs.closing != nil {
		l.special.Add(-1)
	}
	if cs.win != nil {
		l.stopTimer(cs.win.timer)
		cs.win = nil
	}
	delete(l.chans, id)
}

// sendJob returns a job writing frame to side d and flushing.
func (l *link) sendJob(d dir, frame []byte) func() {
	return func() {
		w := l.w[d]
		w.mu.Lock()
		w.write(frame)
		w.flush()
		w.mu.Unlock()
	}
}

func (l *link) event(r *rule, ch uint16, info *msgInfo) Event {
	return Event{
		Time:        time.Now(),
		Fault:       r.Fault,
		Rule:        r.ID,
		MessageID:   info.MessageID,
		MessageType: info.Type,
		Exchange:    info.Exchange,
		RoutingKey:  info.RoutingKey,
		Conn:        l.id,
		Channel:     ch,
	}
}

// writeBatch writes b's emissions to w (held by the caller).
func writeBatch(w *writer, b *batch) {
	for _, e := range b.emits {
		if e.tagOff > 0 {
			wire.PutUint64(e.raw, e.tagOff, e.tag)
		}
		w.write(e.raw)
	}
	clear(b.emits)
	b.emits = b.emits[:0]
}

// finish runs b's jobs and records its events; call with no lock held.
func (l *link) finish(b *batch) {
	for _, j := range b.jobs {
		j()
	}
	for _, e := range b.events {
		l.p.ev.record(e)
	}
	clear(b.jobs)
	b.jobs = b.jobs[:0]
	b.events = b.events[:0]
}

// timerBatch runs f with the client-side writer and the link state locked,
// then writes and flushes what f emitted: the shape of every timer.
func (l *link) timerBatch(f func(b *batch)) {
	b := &batch{}
	w := l.w[toClient]
	w.mu.Lock()
	l.mu.Lock()
	f(b)
	l.mu.Unlock()
	writeBatch(w, b)
	w.flush()
	w.mu.Unlock()
	l.finish(b)
}

// methodFrame encodes a method the proxy generates. Only argument tables
// can fail to encode and none of these methods has one, so the error is
// always nil.
func methodFrame(ch uint16, m wire.Method) []byte {
	b, _ := wire.AppendMethodFrame(nil, ch, m)
	return b
}

// pump is one direction's frame loop. It owns its reader, its captures and
// its scratch space; only its goroutine touches them.
type pump struct {
	l       *link
	d       dir
	r       *bufio.Reader
	w       *writer
	caps    map[uint16]*capture
	b       batch
	scratch []byte
	big     []byte
}

func (p *pump) loop() {
	err := p.run()
	p.w.mu.Lock()
	p.w.flush()
	p.w.mu.Unlock()
	if errors.Is(err, io.EOF) {
		// Orderly end of one side: pass the half-close on, so that the
		// other side can finish its closing handshake.
		if tc, ok := p.w.conn.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
			return
		}
	}
	p.l.shutdown(fmt.Errorf("%s: %w", p.d, err))
}

func (p *pump) run() error {
	if ok, err := p.start(); err != nil || !ok {
		return err
	}
	for {
		if p.r.Buffered() < wire.HeaderSize {
			p.flush()
		}
		hdr, err := p.r.Peek(wire.HeaderSize)
		if err != nil {
			return err
		}
		typ, ch, size := wire.PeekHeader(hdr)
		if size > maxFrameSize {
			return fmt.Errorf("frame of %d bytes: %w", size, wire.ErrMalformed)
		}
		total := int(size) + wire.Overhead
		var frame []byte
		peeked := total <= p.r.Size()
		if peeked {
			if p.r.Buffered() < total {
				p.flush()
			}
			frame, err = p.r.Peek(total)
		} else {
			frame, err = p.readBig(total)
		}
		if err != nil {
			return err
		}
		if frame[total-1] != wire.FrameEnd {
			return fmt.Errorf("frame end octet %#x on channel %d: %w", frame[total-1], ch, wire.ErrMalformed)
		}
		p.process(typ, ch, frame)
		if peeked {
			_, _ = p.r.Discard(total)
		}
	}
}

// process handles one validated frame: decide and write under this side's
// writer lock, then run cross-direction jobs and record events unlocked.
func (p *pump) process(typ uint8, ch uint16, frame []byte) {
	p.w.mu.Lock()
	p.handle(typ, ch, frame)
	writeBatch(p.w, &p.b)
	p.w.mu.Unlock()
	p.scratch = p.scratch[:0]
	if len(p.b.jobs) > 0 || len(p.b.events) > 0 {
		p.l.finish(&p.b)
	}
}

// start handles what precedes the frames: the client's protocol header. A
// peer that does not speak AMQP 0-9-1 framing gets its bytes copied through
// unchanged (ok false).
func (p *pump) start() (ok bool, err error) {
	if p.d == toBroker {
		hdr, err := p.r.Peek(len(wire.ProtocolHeader))
		if err != nil {
			return false, err
		}
		if bytes.Equal(hdr, wire.ProtocolHeader[:]) {
			p.w.mu.Lock()
			p.w.write(hdr)
			p.w.mu.Unlock()
			_, _ = p.r.Discard(len(hdr))
			return true, nil
		}
	} else {
		first, err := p.r.Peek(1)
		if err != nil {
			return false, err
		}
		if first[0] != 'A' {
			return true, nil
		}
	}
	p.l.log.Warn("Not AMQP 0-9-1 framing: copying bytes through", "direction", p.d.String())
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	p.w.flush()
	_, err = io.Copy(p.w.conn, p.r)
	if err == nil {
		err = io.EOF
	}
	return false, err
}

func (p *pump) flush() {
	p.w.mu.Lock()
	p.w.flush()
	p.w.mu.Unlock()
}

// readBig reads a frame larger than the read buffer (a frame_max above
// 256 KiB) into a buffer of its own.
func (p *pump) readBig(total int) ([]byte, error) {
	p.flush()
	if cap(p.big) < total {
		p.big = make([]byte, total)
	}
	p.big = p.big[:total]
	_, err := io.ReadFull(p.r, p.big)
	return p.big, err
}

// gen appends a generated frame to the scratch space and queues it.
func (p *pump) gen(ch uint16, m wire.Method) {
	start := len(p.scratch)
	p.scratch, _ = wire.AppendMethodFrame(p.scratch, ch, m) // acks carry no table: cannot fail
	p.b.emits = append(p.b.emits, emission{raw: p.scratch[start:len(p.scratch):len(p.scratch)]})
}

// handle routes one frame. Called with p.w locked.
func (p *pump) handle(typ uint8, ch uint16, frame []byte) {
	switch typ {
	case wire.FrameMethod:
		payload := frame[wire.HeaderSize : len(frame)-1]
		key, ok := wire.MethodKeyOf(payload)
		if !ok {
			p.w.write(frame)
			return
		}
		if len(p.caps) > 0 && p.caps[ch] != nil {
			p.abandon(ch)
		}
		if p.l.special.Load() > 0 && p.divert(ch, typ, key, frame) {
			return
		}
		if p.d == toBroker {
			p.fromClient(ch, key, frame, payload)
		} else {
			p.fromBroker(ch, key, frame, payload)
		}
	case wire.FrameHeader, wire.FrameBody:
		if len(p.caps) > 0 {
			if c := p.caps[ch]; c != nil {
				p.content(ch, c, typ, frame)
				return
			}
		}
		if p.l.special.Load() > 0 && p.divert(ch, typ, 0, frame) {
			return
		}
		p.w.write(frame)
	default:
		p.w.write(frame)
	}
}

// abandon drops an incomplete capture: a method frame arrived on its
// channel before the content was complete, which only a peer breaking the
// framing rules (or a channel reset) can cause.
func (p *pump) abandon(ch uint16) {
	c := p.caps[ch]
	delete(p.caps, ch)
	p.l.log.Warn("Incomplete message abandoned", "channel", ch, "direction", p.d.String())
	if c.at == OnDeliver {
		p.l.mu.Lock()
		c.cs.del.release(c.btag)
		p.l.mu.Unlock()
	}
}

func (p *pump) fromClient(ch uint16, key wire.MethodKey, frame, payload []byte) {
	l := p.l
	switch key {
	case wire.KeyBasicPublish:
		p.publish(ch, frame, payload)
		return
	case wire.KeyBasicAck:
		p.settle(ch, settleAck, frame, payload)
		return
	case wire.KeyBasicNack:
		p.settle(ch, settleNack, frame, payload)
		return
	case wire.KeyBasicReject:
		p.settle(ch, settleReject, frame, payload)
		return
	case wire.KeyChannelOpen:
		l.mu.Lock()
		l.dropChan(ch)
		l.chanFor(ch)
		l.mu.Unlock()
	case wire.KeyChannelCloseOk:
		l.mu.Lock()
		l.dropChan(ch)
		l.mu.Unlock()
	case wire.KeyConfirmSelect:
		l.mu.Lock()
		l.chanFor(ch).conf.on = true
		l.mu.Unlock()
	case wire.KeyBasicConsume:
		if m, err := wire.ParseMethod(payload); err == nil {
			c := m.(*wire.BasicConsume)
			l.mu.Lock()
			cs := l.chanFor(ch)
			if c.ConsumerTag != "" {
				cs.consumers[c.ConsumerTag] = consumer{queue: c.Queue, noAck: c.NoAck}
			} else {
				cs.pending = append(cs.pending, consumer{queue: c.Queue, noAck: c.NoAck})
			}
			l.mu.Unlock()
		}
	case wire.KeyBasicGet:
		if m, err := wire.ParseMethod(payload); err == nil {
			g := m.(*wire.BasicGet)
			l.mu.Lock()
			cs := l.chanFor(ch)
			cs.gets = append(cs.gets, consumer{queue: g.Queue, noAck: g.NoAck})
			l.mu.Unlock()
		}
	case wire.KeyBasicRecover, wire.KeyBasicRecoverAsync:
		l.mu.Lock()
		cs := l.chanFor(ch)
		cs.del.recover()
		l.releaseAckTimers(cs)
		l.mu.Unlock()
	case wire.KeyBasicQos:
		if floor := l.p.rules.Load().prefetch; floor > 0 {
			raisePrefetch(l, ch, payload, floor)
		}
	}
	p.w.write(frame)
}

// qosCountOffset is where basic.qos's prefetch-count sits in the method
// payload: class id (2), method id (2), prefetch-size (4).
const qosCountOffset = 8

// raisePrefetch patches a client's basic.qos in place (the payload is a
// view into the frame about to be written) so that its prefetch count is
// at least floor. A count of 0 (no limit) is left alone.
func raisePrefetch(l *link, ch uint16, payload []byte, floor uint16) {
	if len(payload) < qosCountOffset+2 {
		return
	}
	count := binary.BigEndian.Uint16(payload[qosCountOffset:])
	if count == 0 || count >= floor {
		return
	}
	binary.BigEndian.PutUint16(payload[qosCountOffset:], floor)
	l.log.Info("Prefetch raised for a reorder window", "channel", ch, "from", count, "to", floor)
}

func (p *pump) fromBroker(ch uint16, key wire.MethodKey, frame, payload []byte) {
	l := p.l
	switch key {
	case wire.KeyBasicDeliver:
		p.deliver(ch, frame, payload)
		return
	case wire.KeyBasicGetOk:
		p.getOk(ch, frame, payload)
		return
	case wire.KeyBasicAck:
		p.confirm(ch, true, frame, payload)
		return
	case wire.KeyBasicNack:
		p.confirm(ch, false, frame, payload)
		return
	case wire.KeyBasicGetEmpty:
		l.mu.Lock()
		if cs := l.chanFor(ch); len(cs.gets) > 0 {
			cs.gets = cs.gets[1:]
		}
		l.mu.Unlock()
	case wire.KeyBasicConsumeOk:
		if m, err := wire.ParseMethod(payload); err == nil {
			tag := m.(*wire.BasicConsumeOk).ConsumerTag
			l.mu.Lock()
			cs := l.chanFor(ch)
			if _, known := cs.consumers[tag]; !known && len(cs.pending) > 0 {
				cs.consumers[tag] = cs.pending[0]
				cs.pending = cs.pending[1:]
			}
			l.mu.Unlock()
		}
	case wire.KeyBasicCancelOk:
		if m, err := wire.ParseMethod(payload); err == nil {
			l.mu.Lock()
			delete(l.chanFor(ch).consumers, m.(*wire.BasicCancelOk).ConsumerTag)
			l.mu.Unlock()
		}
	case wire.KeyChannelCloseOk:
		l.mu.Lock()
		l.dropChan(ch)
		l.mu.Unlock()
	}
	p.w.write(frame)
}

// deliver handles basic.deliver: straight through with its tag translated,
// or captured whole when a rule may act on it.
func (p *pump) deliver(ch uint16, frame, payload []byte) {
	v, ok := wire.DeliverView(payload)
	if !ok {
		p.w.write(frame)
		return
	}
	l := p.l
	rules := l.p.rules.Load().deliver
	l.mu.Lock()
	cs := l.chanFor(ch)
	cons, known := cs.consumers[string(v.ConsumerTag)]
	ackReq := !known || !cons.noAck
	if cs.win != nil || (len(rules) > 0 && candidate(rules, v.Exchange, v.RoutingKey, cons.queue, v.ConsumerTag, ackReq, false)) {
		cs.del.hold(v.DeliveryTag)
		l.mu.Unlock()
		p.capture(ch, frame, &capture{
			at: OnDeliver, cs: cs, tagOff: wire.HeaderSize + v.TagOffset, btag: v.DeliveryTag, ackReq: ackReq,
			info: msgInfo{Exchange: string(v.Exchange), RoutingKey: string(v.RoutingKey), Queue: cons.queue, ConsumerTag: string(v.ConsumerTag)},
		})
		return
	}
	tag := cs.del.emit(v.DeliveryTag, ackReq, false, nil)
	l.mu.Unlock()
	if tag != v.DeliveryTag {
		wire.PutUint64(frame, wire.HeaderSize+v.TagOffset, tag)
	}
	p.w.write(frame)
}

func (p *pump) getOk(ch uint16, frame, payload []byte) {
	btag, ok := wire.GetOkView(payload)
	if !ok {
		p.w.write(frame)
		return
	}
	l := p.l
	l.mu.Lock()
	cs := l.chanFor(ch)
	noAck := false
	if len(cs.gets) > 0 {
		noAck = cs.gets[0].noAck
		cs.gets = cs.gets[1:]
	}
	tag := cs.del.emit(btag, !noAck, false, nil)
	l.mu.Unlock()
	if tag != btag {
		wire.PutUint64(frame, wire.HeaderSize+wire.GetOkTagOffset, tag)
	}
	p.w.write(frame)
}

// publish handles basic.publish: straight through (counted when the
// channel is in confirm mode) or captured whole when a rule may act on it.
func (p *pump) publish(ch uint16, frame, payload []byte) {
	ex, rk, ok := wire.PublishView(payload)
	if !ok {
		p.w.write(frame)
		return
	}
	l := p.l
	rules := l.p.rules.Load().publish
	l.mu.Lock()
	cs := l.chanFor(ch)
	if len(rules) > 0 {
		queue := publishQueue(ex, rk)
		if candidate(rules, ex, rk, queue, nil, false, cs.conf.on) {
			l.mu.Unlock()
			p.capture(ch, frame, &capture{at: OnPublish, cs: cs, info: msgInfo{Exchange: string(ex), RoutingKey: string(rk), Queue: queue}})
			return
		}
	}
	if cs.conf.on {
		cs.conf.publish(1, nil)
	}
	l.mu.Unlock()
	p.w.write(frame)
}

func (p *pump) capture(ch uint16, frame []byte, c *capture) {
	c.raw = append(make([]byte, 0, len(frame)+1024), frame...)
	c.headerOff = -1
	if p.caps == nil {
		p.caps = map[uint16]*capture{}
	}
	p.caps[ch] = c
}

func (p *pump) content(ch uint16, c *capture, typ uint8, frame []byte) {
	switch {
	case typ == wire.FrameHeader && c.headerOff < 0:
		size, _ := wire.ContentHeaderView(frame[wire.HeaderSize : len(frame)-1])
		c.headerOff, c.bodySize = len(c.raw), size
	case typ == wire.FrameBody && c.headerOff >= 0:
		c.got += uint64(len(frame) - wire.Overhead)
	default:
		p.l.log.Warn("Content frame out of order", "channel", ch, "frame_type", typ, "direction", p.d.String())
	}
	c.raw = append(c.raw, frame...)
	if c.headerOff < 0 || c.got < c.bodySize {
		return
	}
	delete(p.caps, ch)
	_, _, n := wire.PeekHeader(c.raw[c.headerOff:])
	hp := c.raw[c.headerOff+wire.HeaderSize : c.headerOff+wire.HeaderSize+int(n)]
	id, mtype, _ := wire.PropertiesView(hp)
	c.info.MessageID, c.info.Type = string(id), string(mtype)
	if c.at == OnDeliver {
		p.completeDelivery(c)
	} else {
		p.completePublish(c)
	}
}

// completeDelivery decides the fate of a captured delivery.
func (p *pump) completeDelivery(c *capture) {
	l, b, cs := p.l, &p.b, c.cs
	l.mu.Lock()
	defer l.mu.Unlock()
	if cs.dead || cs.closing != nil || l.closing != nil {
		return // the broker requeues it when the channel closes
	}
	if cs.win != nil {
		l.addToWindow(b, cs, c)
		return
	}
	r := l.p.decide(l.p.rules.Load().deliver, &c.info, c.ackReq, false)
	if r == nil {
		l.emitDelivery(b, cs, c, false, nil)
		return
	}
	ev := l.event(r, cs.id, &c.info)
	if r.kind.deliver(p, c, r, &ev) {
		b.events = append(b.events, ev)
	}
}

// emitDelivery hands a captured delivery to the client under the next
// client tag. Call with l.mu held.
func (l *link) emitDelivery(b *batch, cs *chanState, c *capture, copies bool, m *mark) uint64 {
	cs.del.release(c.btag)
	tag := cs.del.emit(c.btag, c.ackReq, copies, m)
	b.emits = append(b.emits, emission{raw: c.raw, tagOff: c.tagOff, tag: tag})
	return tag
}

func (l *link) addToWindow(b *batch, cs *chanState, c *capture) {
	cs.win.msgs = append(cs.win.msgs, c)
	if len(cs.win.msgs) >= cs.win.rule.Window {
		l.flushWindow(b, cs)
	}
}

// flushWindow hands out the window's deliveries in a seeded random order
// that differs from the broker's. Call with l.mu held.
func (l *link) flushWindow(b *batch, cs *chanState) {
	w := cs.win
	cs.win = nil
	l.stopTimer(w.timer)
	order := l.p.permutation(len(w.msgs))
	ids := make([]string, len(order))
	for k, i := range order {
		l.emitDelivery(b, cs, w.msgs[i], false, nil)
		ids[k] = w.msgs[i].info.MessageID
	}
	if len(order) < 2 {
		return // nothing arrived to reorder with: no effect, no evidence
	}
	ev := l.event(w.rule, cs.id, &w.msgs[0].info)
	ev.Detail = fmt.Sprintf("%d deliveries handed out in order %v (message ids %q)", len(order), order, ids)
	b.events = append(b.events, ev)
}

// completePublish decides the fate of a captured publish.
func (p *pump) completePublish(c *capture) {
	l, b, cs := p.l, &p.b, c.cs
	l.mu.Lock()
	defer l.mu.Unlock()
	if cs.dead || cs.closing != nil || l.closing != nil {
		return
	}
	r := l.p.decide(l.p.rules.Load().publish, &c.info, false, cs.conf.on)
	send := func(copies int, m *mark) {
		if cs.conf.on {
			cs.conf.publish(copies, m)
		}
		for range copies {
			b.emits = append(b.emits, emission{raw: c.raw})
		}
	}
	if r == nil {
		send(1, nil)
		return
	}
	ev := l.event(r, cs.id, &c.info)
	if r.kind.publish(p, c, r, &ev, send) {
		b.events = append(b.events, ev)
	}
}

// settle translates a consumer's basic.ack/nack/reject.
func (p *pump) settle(ch uint16, kind settleKind, frame, payload []byte) {
	tag, bits, ok := wire.AckView(payload)
	if !ok {
		p.w.write(frame)
		return
	}
	l := p.l
	l.mu.Lock()
	cs := l.chans[ch]
	if cs == nil {
		l.mu.Unlock()
		p.w.write(frame)
		return
	}
	out, pass, dropped := cs.del.settle(kind, tag, bits)
	for _, m := range dropped {
		ev := l.event(m.rule, ch, &m.info)
		if d := m.rule.ackTimeout(); d > 0 {
			ev.Detail = fmt.Sprintf("consumer ack swallowed: the broker keeps the delivery unacked until the channel closes, at the latest when the ack timeout of %s closes it", d)
			l.startAckTimer(cs, m, d)
		} else {
			ev.Detail = "consumer ack swallowed: the broker keeps the delivery unacked until the channel closes (no ack timeout)"
		}
		p.b.events = append(p.b.events, ev)
	}
	l.mu.Unlock()
	if pass {
		p.w.write(frame)
		return
	}
	for _, s := range out {
		switch s.kind {
		case settleAck:
			p.gen(ch, &wire.BasicAck{DeliveryTag: s.tag, Multiple: s.multiple})
		case settleNack:
			p.gen(ch, &wire.BasicNack{DeliveryTag: s.tag, Multiple: s.multiple, Requeue: s.requeue})
		case settleReject:
			p.gen(ch, &wire.BasicReject{DeliveryTag: s.tag, Requeue: s.requeue})
		}
	}
}

// confirm translates a broker's publisher confirm.
func (p *pump) confirm(ch uint16, ack bool, frame, payload []byte) {
	tag, bits, ok := wire.AckView(payload)
	if !ok {
		p.w.write(frame)
		return
	}
	l := p.l
	l.mu.Lock()
	cs := l.chans[ch]
	if cs == nil || !cs.conf.on {
		l.mu.Unlock()
		p.w.write(frame)
		return
	}
	out, pass, applied := cs.conf.confirm(ack, tag, bits&1 != 0)
	for _, a := range applied {
		ev := l.event(a.mark.rule, ch, &a.mark.info)
		kind := "basic.ack"
		if !a.ack {
			kind = "basic.nack"
		}
		if a.mark.rule.Fault == DelayConfirm {
			d := time.Duration(a.mark.rule.Delay)
			ev.Detail = fmt.Sprintf("%s of publish %d held for %s", kind, a.client, d)
			l.afterFunc(d, func() {
				l.timerBatch(func(b *batch) {
					if !cs.dead && cs.closing == nil && l.closing == nil && cs.conf.releaseDelayed(a.client) {
						b.emits = append(b.emits, emission{raw: confirmFrame(ch, a.ack, a.client, false)})
					}
				})
			})
		} else {
			ev.Detail = fmt.Sprintf("%s of publish %d swallowed", kind, a.client)
		}
		p.b.events = append(p.b.events, ev)
	}
	l.mu.Unlock()
	if pass {
		p.w.write(frame)
		return
	}
	for _, o := range out {
		if o.ack {
			p.gen(ch, &wire.BasicAck{DeliveryTag: o.tag, Multiple: o.multiple})
		} else {
			p.gen(ch, &wire.BasicNack{DeliveryTag: o.tag, Multiple: o.multiple})
		}
	}
}

func confirmFrame(ch uint16, ack bool, tag uint64, multiple bool) []byte {
	if ack {
		return methodFrame(ch, &wire.BasicAck{DeliveryTag: tag, Multiple: multiple})
	}
	return methodFrame(ch, &wire.BasicNack{DeliveryTag: tag, Multiple: multiple})
}

// send queues frames for both peers: the one for this loop's own side goes
// out with the batch, the other through a job.
func (p *pump) send(forClient, forBroker []byte) { p.l.send(&p.b, p.d, forClient, forBroker) }

// send queues frames for both peers in b, whose emissions go to the side
// held (the writer the caller holds); the other side's through a job.
func (l *link) send(b *batch, held dir, forClient, forBroker []byte) {
	own, other, od := forBroker, forClient, toClient
	if held == toClient {
		own, other, od = forClient, forBroker, toBroker
	}
	b.emits = append(b.emits, emission{raw: own})
	b.jobs = append(b.jobs, l.sendJob(od, other))
}

// injectChannelClose closes channel cs towards both peers as if the broker
// had closed it with code: the client gets channel.close(code), the broker
// a normal channel.close(200). Call with l.mu held.
func (p *pump) injectChannelClose(cs *chanState, code uint16, text string) {
	p.l.closeChannel(&p.b, p.d, cs, code, text)
}

// closeChannel is injectChannelClose for a caller holding the writer of
// side held, queueing into b. Call with l.mu held.
func (l *link) closeChannel(b *batch, held dir, cs *chanState, code uint16, text string) {
	if cs.closing != nil {
		return
	}
	cs.closing = &chanClosing{}
	l.special.Add(1)
	if cs.win != nil {
		l.stopTimer(cs.win.timer)
		cs.win = nil
	}
	l.releaseAckTimers(cs)
	l.send(b, held,
		methodFrame(cs.id, &wire.ChannelClose{ReplyCode: code, ReplyText: text}),
		methodFrame(cs.id, &wire.ChannelClose{ReplyCode: 200, ReplyText: "amqpproxy: client channel closed by an injected fault"}),
	)
}

// startAckTimer starts the ack timeout of the delivery marked m, whose ack
// was just swallowed on channel cs. Call with l.mu held.
func (l *link) startAckTimer(cs *chanState, m *mark, d time.Duration) {
	at := &ackTimer{mark: m}
	at.timer = l.afterFunc(d, func() { l.ackTimedOut(cs, at) })
	if at.timer == nil {
		return // the link is closed
	}
	cs.ackTimers = append(cs.ackTimers, at)
	l.p.ev.ackTimer(m.rule.ID, 1)
}

// releaseAckTimers stops the ack timers of cs: its channel closes, or
// basic.recover made the broker redeliver its unacked deliveries. Call with
// l.mu held.
func (l *link) releaseAckTimers(cs *chanState) {
	for _, at := range cs.ackTimers {
		l.stopTimer(at.timer)
		l.p.ev.ackTimer(at.mark.rule.ID, -1)
	}
	cs.ackTimers = nil
}

// ackTimedOut does what RabbitMQ's consumer_timeout does once a delivery
// stayed unacknowledged too long: it closes the channel towards the client
// with 406 PRECONDITION_FAILED, and towards the broker, which requeues every
// unacked delivery of the channel. It does nothing when the timer was
// released meanwhile or the broker no longer holds the delivery unacked.
func (l *link) ackTimedOut(cs *chanState, at *ackTimer) {
	released := false
	// The timer counts as running until the batch has recorded its
	// event: a heal waits for no running timer and must then see the
	// timeout among the events.
	defer func() {
		if released {
			l.p.ev.ackTimer(at.mark.rule.ID, -1)
		}
	}()
	l.timerBatch(func(b *batch) {
		i := slices.Index(cs.ackTimers, at)
		if i < 0 {
			return
		}
		cs.ackTimers = slices.Delete(cs.ackTimers, i, i+1)
		released = true
		r := at.mark.rule
		if cs.dead || cs.closing != nil || l.closing != nil || l.chans[cs.id] != cs || !slices.Contains(cs.del.forever, at.mark.broker) {
			return
		}
		d := r.ackTimeout()
		text := fmt.Sprintf("PRECONDITION_FAILED - delivery acknowledgement on channel %d timed out. Timeout value used: %d ms. "+
			"This timeout value can be configured, see consumers doc guide to learn more", cs.id, d.Milliseconds())
		l.closeChannel(b, toClient, cs, 406, text)
		ev := l.event(r, cs.id, &at.mark.info)
		ev.Fault = AckTimedOut
		ev.Detail = fmt.Sprintf("ack timeout of %s: channel.close 406 to the client, channel.close to the broker (it requeues the channel's unacked deliveries)", d)
		b.events = append(b.events, ev)
	})
}

// injectConnectionClose closes the connection towards both peers: the
// client gets connection.close(code), the broker a normal close. Call with
// l.mu held.
func (p *pump) injectConnectionClose(code uint16, text string) {
	l := p.l
	if l.closing != nil {
		return
	}
	l.closing = &connClosing{}
	l.special.Add(1)
	p.send(
		methodFrame(0, &wire.ConnectionClose{ReplyCode: code, ReplyText: text}),
		methodFrame(0, &wire.ConnectionClose{ReplyCode: 200, ReplyText: "amqpproxy: client connection closed by an injected fault"}),
	)
	l.afterFunc(closeGrace, func() { l.shutdown(errors.New("closing handshake after an injected connection.close timed out")) })
}

// divert handles frames of a channel or connection in an injected close.
// It reports whether it consumed the frame.
func (p *pump) divert(ch uint16, typ uint8, key wire.MethodKey, frame []byte) bool {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	method := typ == wire.FrameMethod
	if cc := l.closing; cc != nil {
		if method && ch == 0 && (key == wire.KeyConnectionCloseOk || key == wire.KeyConnectionClose) {
			if key == wire.KeyConnectionClose {
				p.b.jobs = append(p.b.jobs, l.sendJob(p.d^1, methodFrame(0, &wire.ConnectionCloseOk{})))
			}
			if p.d == toBroker {
				cc.clientDone = true
			} else {
				cc.brokerDone = true
			}
		}
		return true
	}
	cs := l.chans[ch]
	if cs == nil || cs.closing == nil {
		return false
	}
	cl := cs.closing
	if p.d == toBroker && cl.clientDone {
		// The client finished closing and reuses the channel id before the
		// broker did: hold its frames until the broker is done.
		cl.pending = append(cl.pending, frame...)
		return true
	}
	if method && key == wire.KeyChannelClose {
		// Both sides closing at once: answer the peer as the other side would.
		p.b.jobs = append(p.b.jobs, l.sendJob(p.d^1, methodFrame(ch, &wire.ChannelCloseOk{})))
	}
	if method && key == wire.KeyChannelCloseOk {
		if p.d == toBroker {
			cl.clientDone = true
		} else {
			cl.brokerDone = true
		}
		p.finishChannelClose(cs)
	}
	return true
}

// finishChannelClose frees the channel id once both peers closed it,
// releasing any client frames that waited. Call with l.mu held.
func (p *pump) finishChannelClose(cs *chanState) {
	l, cl := p.l, cs.closing
	if !cl.clientDone || !cl.brokerDone || cl.releasing {
		return
	}
	if len(cl.pending) == 0 {
		l.dropChan(cs.id)
		return
	}
	cl.releasing = true
	p.b.jobs = append(p.b.jobs, func() {
		w := l.w[toBroker]
		w.mu.Lock()
		defer w.mu.Unlock()
		l.mu.Lock()
		if l.chans[cs.id] != cs {
			l.mu.Unlock()
			return
		}
		pending := cs.closing.pending
		l.dropChan(cs.id)
		l.mu.Unlock()
		w.write(pending)
		w.flush()
	})
}
