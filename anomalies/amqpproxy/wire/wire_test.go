package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

// allTypes holds one value of every field type, nested in tables and arrays.
func allTypes() Table {
	return Table{
		"bool":    true,
		"false":   false,
		"int8":    int8(-8),
		"uint8":   uint8(200),
		"int16":   int16(-1600),
		"uint16":  uint16(60000),
		"int32":   int32(-320000),
		"uint32":  uint32(4000000000),
		"int64":   int64(-1 << 60),
		"float32": float32(3.25),
		"float64": 6.5e100,
		"decimal": Decimal{Scale: 2, Value: -12345},
		"string":  "grüße",
		"bytes":   []byte{0, 1, 0xCE, 0xFF},
		"time":    time.Unix(1700000000, 0).UTC(),
		"void":    nil,
		"empty":   Table{},
		"array":   []any{int32(1), "two", []any{3.0}, Table{"k": uint8(4)}, nil, []byte{}},
		"nested":  Table{"inner": Table{"deep": int64(7), "list": []any{}}},
	}
}

func TestTableRoundTripAllValueTypes(t *testing.T) {
	in := allTypes()
	b, err := AppendTable(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, n, err := ParseTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b) {
		t.Fatalf("used %d of %d bytes", n, len(b))
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip differs:\n in  %#v\n out %#v", in, out)
	}
	again, err := AppendTable(nil, out)
	if err != nil || !bytes.Equal(b, again) {
		t.Fatalf("encoding is not deterministic (err %v)", err)
	}
}

func TestTableRejectsUnsupportedType(t *testing.T) {
	if _, err := AppendTable(nil, Table{"k": struct{}{}}); err == nil {
		t.Fatal("encoded an unsupported value type")
	}
	if _, err := AppendTable(nil, Table{"k": 1}); err == nil {
		t.Fatal("encoded a plain int, whose wire width is ambiguous")
	}
}

func TestTableRejectsUnknownTypeOctet(t *testing.T) {
	raw := []byte{0, 0, 0, 3, 1, 'k', 'Z'}
	if _, _, err := ParseTable(raw); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

// everyMethod has one populated value of every method the package decodes.
func everyMethod() []Method {
	return []Method{
		&ConnectionClose{ReplyCode: 320, ReplyText: "CONNECTION_FORCED - test", ClassID: 60, MethodID: 40},
		&ConnectionCloseOk{},
		&ChannelOpen{Reserved1: ""},
		&ChannelOpenOk{Reserved1: "x"},
		&ChannelClose{ReplyCode: 406, ReplyText: "PRECONDITION_FAILED - test", ClassID: 60, MethodID: 80},
		&ChannelCloseOk{},
		&BasicQos{PrefetchSize: 0, PrefetchCount: 200, Global: true},
		&BasicQosOk{},
		&BasicConsume{Queue: "q", ConsumerTag: "ctag-1", NoLocal: true, NoAck: true, Exclusive: true, NoWait: true, Arguments: allTypes()},
		&BasicConsume{Queue: "q2", ConsumerTag: "c", NoAck: true, Arguments: Table{}},
		&BasicConsumeOk{ConsumerTag: "ctag-1"},
		&BasicCancel{ConsumerTag: "ctag-1", NoWait: true},
		&BasicCancelOk{ConsumerTag: "ctag-1"},
		&BasicPublish{Exchange: "ex", RoutingKey: "rk.1", Mandatory: true, Immediate: true},
		&BasicPublish{RoutingKey: "queue", Mandatory: true},
		&BasicReturn{ReplyCode: 312, ReplyText: "NO_ROUTE", Exchange: "ex", RoutingKey: "rk"},
		&BasicDeliver{ConsumerTag: "ctag-1", DeliveryTag: 1<<63 + 5, Redelivered: true, Exchange: "ex", RoutingKey: "rk"},
		&BasicGet{Queue: "q", NoAck: true},
		&BasicGetOk{DeliveryTag: 9, Redelivered: true, Exchange: "ex", RoutingKey: "rk", MessageCount: 77},
		&BasicGetEmpty{},
		&BasicAck{DeliveryTag: 12, Multiple: true},
		&BasicReject{DeliveryTag: 13, Requeue: true},
		&BasicRecoverAsync{Requeue: true},
		&BasicRecover{Requeue: true},
		&BasicRecoverOk{},
		&BasicNack{DeliveryTag: 14, Multiple: true, Requeue: true},
		&BasicNack{DeliveryTag: 15, Requeue: true},
		&ConfirmSelect{NoWait: true},
		&ConfirmSelectOk{},
	}
}

func TestMethodFrameRoundTripEveryMethod(t *testing.T) {
	seen := map[MethodKey]bool{}
	for _, m := range everyMethod() {
		seen[m.Key()] = true
		b, err := AppendMethodFrame(nil, 7, m)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		f, n, err := ParseFrame(b)
		if err != nil || n != len(b) {
			t.Fatalf("%T: parse frame: n=%d/%d err=%v", m, n, len(b), err)
		}
		if f.Type != FrameMethod || f.Channel != 7 {
			t.Fatalf("%T: frame type %d channel %d", m, f.Type, f.Channel)
		}
		got, err := ParseMethod(f.Payload)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !reflect.DeepEqual(m, got) {
			t.Fatalf("%T round trip:\n in  %#v\n out %#v", m, m, got)
		}
	}
	for _, k := range []MethodKey{
		KeyConnectionClose, KeyConnectionCloseOk, KeyChannelOpen, KeyChannelOpenOk, KeyChannelClose,
		KeyChannelCloseOk, KeyBasicQos, KeyBasicQosOk, KeyBasicConsume, KeyBasicConsumeOk, KeyBasicCancel,
		KeyBasicCancelOk, KeyBasicPublish, KeyBasicReturn, KeyBasicDeliver, KeyBasicGet, KeyBasicGetOk,
		KeyBasicGetEmpty, KeyBasicAck, KeyBasicReject, KeyBasicRecoverAsync, KeyBasicRecover,
		KeyBasicRecoverOk, KeyBasicNack, KeyConfirmSelect, KeyConfirmSelectOk,
	} {
		if !seen[k] || newMethod(k) == nil {
			t.Errorf("method %d.%d has no round-trip case or no decoder", k>>16, k&0xffff)
		}
	}
}

func TestParseMethodRejectsTrailingBytesAndUnknown(t *testing.T) {
	b, _ := AppendMethod(nil, &BasicAck{DeliveryTag: 1})
	if _, err := ParseMethod(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: err = %v", err)
	}
	if _, err := ParseMethod(b[:8]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: err = %v", err)
	}
	if _, err := ParseMethod([]byte{0, 10, 0, 10}); !errors.Is(err, ErrUnknownMethod) {
		t.Fatalf("connection.start: err = %v, want ErrUnknownMethod", err)
	}
}

func fullProperties() Properties {
	return Properties{
		ContentType:     "application/json",
		ContentEncoding: "gzip",
		Headers:         allTypes(),
		DeliveryMode:    2,
		Priority:        9,
		CorrelationID:   "corr-1",
		ReplyTo:         "amq.rabbitmq.reply-to",
		Expiration:      "60000",
		MessageID:       "msg-42",
		Timestamp:       time.Unix(1700000123, 0).UTC(),
		Type:            "InquiryCreated",
		UserID:          "guest",
		AppID:           "tickets",
		ClusterID:       "c1",
	}
}

func TestContentHeaderRoundTripAllProperties(t *testing.T) {
	for _, h := range []ContentHeader{
		{ClassID: ClassBasic, BodySize: 512, Properties: fullProperties()},
		{ClassID: ClassBasic, BodySize: 0},
		{ClassID: ClassBasic, Weight: 0, BodySize: 1 << 40, Properties: Properties{MessageID: "only-id", Type: "T"}},
	} {
		b, err := AppendHeaderFrame(nil, 3, h)
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := ParseFrame(b)
		if err != nil || f.Type != FrameHeader || f.Channel != 3 {
			t.Fatalf("frame: %+v %v", f, err)
		}
		got, err := ParseContentHeader(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(h, got) {
			t.Fatalf("round trip:\n in  %#v\n out %#v", h, got)
		}
		size, ok := ContentHeaderView(f.Payload)
		if !ok || size != h.BodySize {
			t.Fatalf("ContentHeaderView = %d %v, want %d", size, ok, h.BodySize)
		}
		id, typ, ok := PropertiesView(f.Payload)
		if !ok || string(id) != h.Properties.MessageID || string(typ) != h.Properties.Type {
			t.Fatalf("PropertiesView = %q %q %v", id, typ, ok)
		}
	}
}

func TestBodyAndHeartbeatFrames(t *testing.T) {
	for _, f := range []Frame{
		{Type: FrameBody, Channel: 1, Payload: bytes.Repeat([]byte{0xCE}, 1000)},
		{Type: FrameBody, Channel: 65535, Payload: []byte{}},
		{Type: FrameHeartbeat, Channel: 0, Payload: []byte{}},
	} {
		b := AppendFrame(nil, f)
		got, n, err := ParseFrame(append(b, 1, 2, 3))
		if err != nil || n != len(b) || got.Type != f.Type || got.Channel != f.Channel || !bytes.Equal(got.Payload, f.Payload) {
			t.Fatalf("frame %d: got %+v n=%d err=%v", f.Type, got, n, err)
		}
		if _, _, err := ParseFrame(b[:len(b)-1]); !errors.Is(err, ErrShort) {
			t.Fatalf("short frame: err = %v", err)
		}
		bad := append([]byte{}, b...)
		bad[len(bad)-1] = 0
		if _, _, err := ParseFrame(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("bad frame end: err = %v", err)
		}
	}
}

func TestViewsAgreeWithDecoders(t *testing.T) {
	d := &BasicDeliver{ConsumerTag: "ct", DeliveryTag: 77, Redelivered: true, Exchange: "ex", RoutingKey: "a.b"}
	p, _ := AppendMethod(nil, d)
	v, ok := DeliverView(p)
	if !ok || string(v.ConsumerTag) != "ct" || v.DeliveryTag != 77 || !v.Redelivered || string(v.Exchange) != "ex" || string(v.RoutingKey) != "a.b" {
		t.Fatalf("DeliverView = %+v %v", v, ok)
	}
	PutUint64(p, v.TagOffset, 1234)
	m, err := ParseMethod(p)
	if err != nil || m.(*BasicDeliver).DeliveryTag != 1234 {
		t.Fatalf("patched tag: %+v %v", m, err)
	}

	p, _ = AppendMethod(nil, &BasicGetOk{DeliveryTag: 5, Exchange: "e", RoutingKey: "r", MessageCount: 3})
	if tag, ok := GetOkView(p); !ok || tag != 5 {
		t.Fatalf("GetOkView = %d %v", tag, ok)
	}
	p, _ = AppendMethod(nil, &BasicPublish{Exchange: "e1", RoutingKey: "r1", Mandatory: true})
	if ex, rk, ok := PublishView(p); !ok || string(ex) != "e1" || string(rk) != "r1" {
		t.Fatalf("PublishView = %q %q %v", ex, rk, ok)
	}
	p, _ = AppendMethod(nil, &BasicNack{DeliveryTag: 9, Multiple: true, Requeue: true})
	if tag, bits, ok := AckView(p); !ok || tag != 9 || bits != 3 {
		t.Fatalf("AckView = %d %b %v", tag, bits, ok)
	}
	for _, short := range [][]byte{nil, {0, 60, 0, 60}, {0, 60, 0, 60, 9, 'x'}} {
		if _, ok := DeliverView(short); ok {
			t.Fatalf("DeliverView accepted %v", short)
		}
		if _, _, ok := PublishView(short); ok {
			t.Fatalf("PublishView accepted %v", short)
		}
	}
}

func TestFloatSpecialValuesSurvive(t *testing.T) {
	b, err := AppendTable(nil, Table{"nan": math.NaN(), "inf": float32(math.Inf(-1))})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := ParseTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(out["nan"].(float64)) || !math.IsInf(float64(out["inf"].(float32)), -1) {
		t.Fatalf("got %#v", out)
	}
}
