package spanfile

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// SynthStats describes a synthesized run.
type SynthStats struct {
	Spans  int
	Traces int
	Files  []string
}

// Synthesize writes a run of exactly n spans into dir/traces/, one file per
// service instance, shaped like Ticketflow traffic: an HTTP request publishes
// InquirySubmitted, tickets handles it and publishes TicketCreated, which
// translations, sla, communication and metrics handle; translations answers
// with TicketTranslated. About 3% of handlings are redelivered duplicates
// (dedup outcome "duplicate"), about 1% fail with an error status and an
// exception event. Every trace is connected (spans are emitted parent
// first; the last trace may be cut short). The same seed gives the same
// bytes. It is meant for benchmarks and for exercising checkers offline at
// scale (tflab verify on 1,000,000 spans).
func Synthesize(dir string, n int, seed uint64) (SynthStats, error) {
	if n < 0 {
		return SynthStats{}, errors.New("spanfile: negative span count")
	}
	g := &synth{
		rng:   rand.New(rand.NewPCG(seed, 0x7f4a7c15_9e3779b9)),
		dir:   filepath.Join(dir, "traces"),
		files: map[string]*synthFile{},
		left:  n,
		now:   1_767_225_600_000_000_000 + int64(seed%1000)*1_000_000_000, // 2026-01-01T00:00:00Z + seed s
	}
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return SynthStats{}, fmt.Errorf("spanfile: synthesize: %w", err)
	}
	for g.left > 0 && g.err == nil {
		g.inquiry()
		g.st.Traces++
	}
	var errs []error
	if g.err != nil {
		errs = append(errs, g.err)
	}
	for _, name := range g.order {
		sf := g.files[name]
		errs = append(errs, sf.w.Flush(), sf.f.Close())
		g.st.Files = append(g.st.Files, sf.f.Name())
	}
	if err := errors.Join(errs...); err != nil {
		return g.st, fmt.Errorf("spanfile: synthesize: %w", err)
	}
	return g.st, nil
}

type synthFile struct {
	f *os.File
	w *bufio.Writer
}

type synth struct {
	rng   *rand.Rand
	dir   string
	files map[string]*synthFile
	order []string
	left  int
	now   int64
	st    SynthStats
	err   error
	rec   Record
	buf   []byte
	seq   int
	// failing makes the next emitted span an error with an exception event.
	failing bool
}

type synthSpan struct {
	trace trace.TraceID
	id    trace.SpanID
	start int64
}

var ticketsInstances = [...]string{"tickets-1", "tickets-2"}

func (g *synth) inquiry() {
	g.seq++
	g.now += 200_000 + g.rng.Int64N(800_000)
	var tid trace.TraceID
	g.fill(tid[:])
	inquiryID := "inq-" + strconv.Itoa(g.seq)
	root, ok := g.emit(synthSpan{trace: tid, start: g.now}, "inquiries", "inquiries-1", "POST /inquiries", trace.SpanKindServer, 2_000_000,
		attribute.String("http.request.method", "POST"),
		attribute.String("http.route", "/inquiries"),
		attribute.Int64("http.response.status_code", 202),
		attribute.String("lab.inquiry.id", inquiryID))
	if !ok {
		return
	}
	submitted := g.messageID()
	pub, ok := g.publish(root, "inquiries", "inquiries-1", "InquirySubmitted", submitted, inquiryID, inquiryID, 1, "")
	if !ok {
		return
	}
	tickets := ticketsInstances[g.rng.IntN(len(ticketsInstances))]
	ticketID := "tkt-" + strconv.Itoa(g.seq)
	h, ok := g.handle(pub, "tickets", tickets, "InquirySubmitted", submitted, inquiryID, 1, "ticket:"+ticketID+":create")
	if !ok {
		return
	}
	created := g.messageID()
	pub2, ok := g.publish(h, "tickets", tickets, "TicketCreated", created, inquiryID, ticketID, 1, submitted)
	if !ok {
		return
	}
	tr, ok := g.handle(pub2, "translations", "translations-1", "TicketCreated", created, ticketID, 1, "translation:"+ticketID)
	if !ok {
		return
	}
	for _, svc := range []string{"sla", "communication", "metrics"} {
		if _, ok := g.handle(pub2, svc, svc+"-1", "TicketCreated", created, ticketID, 1, svc+":"+ticketID+":created"); !ok {
			return
		}
	}
	translated := g.messageID()
	pub3, ok := g.publish(tr, "translations", "translations-1", "TicketTranslated", translated, inquiryID, ticketID, 2, created)
	if !ok {
		return
	}
	g.handle(pub3, "tickets", tickets, "TicketTranslated", translated, ticketID, 2, "ticket:"+ticketID+":translation")
}

func (g *synth) publish(parent synthSpan, svc, inst, msgType, msgID, conv, aggID string, ver int64, causation string) (synthSpan, bool) {
	attrs := []attribute.KeyValue{
		attribute.String("messaging.system", "rabbitmq"),
		attribute.String("messaging.operation.type", "publish"),
		attribute.String("messaging.operation.name", "publish"),
		attribute.String("messaging.destination.name", "ticketflow"),
		attribute.String("messaging.rabbitmq.destination.routing_key", msgType),
		attribute.String("messaging.message.id", msgID),
		attribute.String("messaging.message.conversation_id", conv),
		attribute.Int64("messaging.message.body.size", 180+g.rng.Int64N(400)),
		attribute.String("lab.service", svc),
		attribute.String("lab.instance", inst),
		attribute.String("lab.message.type", msgType),
		attribute.String("lab.aggregate.id", aggID),
		attribute.Int64("lab.aggregate.version", ver),
		attribute.String("lab.publish.via", "outbox"),
		attribute.String("lab.confirm.outcome", "ack"),
		attribute.Int64("lab.publish.republish", 0),
	}
	if causation != "" {
		attrs = append(attrs, attribute.String("lab.causation.id", causation))
	}
	return g.emit(parent, svc, inst, "publish "+msgType, trace.SpanKindProducer, 300_000, attrs...)
}

// handle emits the handling span, and sometimes a redelivered duplicate
// handling of the same message.
func (g *synth) handle(parent synthSpan, svc, inst, msgType, msgID, aggID string, ver int64, effect string) (synthSpan, bool) {
	s, ok := g.handling(parent, svc, inst, msgType, msgID, aggID, ver, effect, false)
	if ok && g.rng.IntN(100) < 3 {
		_, ok = g.handling(parent, svc, inst, msgType, msgID, aggID, ver, effect, true)
	}
	return s, ok
}

func (g *synth) handling(parent synthSpan, svc, inst, msgType, msgID, aggID string, ver int64, effect string, dup bool) (synthSpan, bool) {
	dedup, attempt, effects := "processed", int64(1), []string{effect}
	if dup {
		dedup, attempt, effects = "duplicate", 2, nil
	}
	failed := !dup && g.rng.IntN(100) == 0
	outcome := "acked"
	if failed {
		outcome = "retried"
	}
	g.failing = failed
	return g.emit(parent, svc, inst, "process "+msgType, trace.SpanKindConsumer, 1_500_000,
		attribute.String("messaging.system", "rabbitmq"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.operation.name", "process"),
		attribute.String("messaging.destination.name", svc+"."+msgType),
		attribute.String("messaging.message.id", msgID),
		attribute.Int64("messaging.rabbitmq.message.delivery_tag", int64(g.seq)),
		attribute.String("lab.service", svc),
		attribute.String("lab.instance", inst),
		attribute.String("lab.message.type", msgType),
		attribute.String("lab.aggregate.id", aggID),
		attribute.Int64("lab.aggregate.version", ver),
		attribute.String("lab.dedup.outcome", dedup),
		attribute.String("lab.order.outcome", "applied"),
		attribute.Bool("lab.redelivered", dup),
		attribute.Int64("lab.attempt", attempt),
		attribute.StringSlice("lab.effect.keys", effects),
		attribute.String("lab.outcome", outcome),
	)
}

// emit writes one span (child of parent unless parent.id is zero) and
// returns it; false once n spans are written or a write failed.
func (g *synth) emit(parent synthSpan, svc, inst, name string, kind trace.SpanKind, dur int64, attrs ...attribute.KeyValue) (synthSpan, bool) {
	if g.left <= 0 || g.err != nil {
		return synthSpan{}, false
	}
	s := synthSpan{trace: parent.trace, start: parent.start + 50_000 + g.rng.Int64N(500_000)}
	g.fill(s.id[:])
	r := &g.rec
	failed := g.failing
	g.failing = false
	r.reset()
	*r = Record{
		TraceID: s.trace, SpanID: s.id, ParentSpanID: parent.id,
		Name: name, Kind: kind, Start: s.start, End: s.start + dur/2 + g.rng.Int64N(dur),
		Service: svc, Instance: inst, Scope: "github.com/ticketflow-lab/tflab/system/messaging",
		Attrs: attrs, Events: r.Events[:0],
	}
	if failed {
		r.StatusCode, r.StatusMessage = codes.Error, "handler: translation backend unavailable"
		r.Events = append(r.Events, Event{Name: "exception", Time: r.End - 1000, Attrs: []attribute.KeyValue{
			attribute.String("exception.type", "*errors.errorString"),
			attribute.String("exception.message", "translation backend unavailable"),
		}})
	}
	sf, err := g.file(inst)
	if err != nil {
		g.err = err
		return synthSpan{}, false
	}
	g.buf = AppendRecord(g.buf[:0], r)
	if _, err := sf.w.Write(g.buf); err != nil {
		g.err = err
		return synthSpan{}, false
	}
	g.left--
	g.st.Spans++
	return s, true
}

func (g *synth) file(inst string) (*synthFile, error) {
	if sf, ok := g.files[inst]; ok {
		return sf, nil
	}
	f, err := os.Create(filepath.Join(g.dir, inst+Ext))
	if err != nil {
		return nil, err
	}
	sf := &synthFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	g.files[inst] = sf
	g.order = append(g.order, inst)
	return sf, nil
}

// fill writes random bytes into id, never all zero.
func (g *synth) fill(id []byte) {
	for {
		var b [8]byte
		for i := 0; i < len(id); i += 8 {
			binary.LittleEndian.PutUint64(b[:], g.rng.Uint64())
			copy(id[i:], b[:])
		}
		for _, c := range id {
			if c != 0 {
				return
			}
		}
	}
}

// messageID returns a UUID-shaped random id.
func (g *synth) messageID() string {
	var b [16]byte
	g.fill(b[:])
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
