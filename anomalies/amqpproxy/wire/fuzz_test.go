package wire

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to every decoder. Whatever decodes must
// re-encode, and the re-encoding must be a fixed point: decoding and encoding
// it again gives the same bytes. Views must never panic and must agree with
// the full decoders where both succeed.
//
// The seed corpus (every method, a full content header, body and heartbeat
// frames) runs in the normal `go test`; explore with
// `go test -fuzz FuzzParse ./anomalies/amqpproxy/wire`.
func FuzzParse(f *testing.F) {
	for _, m := range everyMethod() {
		b, err := AppendMethodFrame(nil, 1, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h, err := AppendHeaderFrame(nil, 1, ContentHeader{ClassID: ClassBasic, BodySize: 3, Properties: fullProperties()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h)
	f.Add(AppendFrame(nil, Frame{Type: FrameBody, Channel: 1, Payload: []byte("abc")}))
	f.Add(AppendFrame(nil, Frame{Type: FrameHeartbeat}))
	f.Add(ProtocolHeader[:])

	f.Fuzz(func(t *testing.T, data []byte) {
		fr, _, err := ParseFrame(data)
		if err != nil {
			// Still exercise the payload decoders on raw input.
			fr = Frame{Type: FrameMethod, Payload: data}
		}
		p := fr.Payload
		_, _ = DeliverView(p)
		_, _ = GetOkView(p)
		_, _, _ = PublishView(p)
		_, _, _ = AckView(p)
		_, _ = ContentHeaderView(p)
		_, _, _ = PropertiesView(p)

		if m, err := ParseMethod(p); err == nil {
			b1, err := AppendMethod(nil, m)
			if err != nil {
				t.Fatalf("decoded %T does not re-encode: %v", m, err)
			}
			m2, err := ParseMethod(b1)
			if err != nil {
				t.Fatalf("re-encoded %T does not decode: %v", m, err)
			}
			b2, _ := AppendMethod(nil, m2)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%T: encoding is not a fixed point", m)
			}
			if d, ok := m.(*BasicDeliver); ok {
				v, ok := DeliverView(p)
				if !ok || v.DeliveryTag != d.DeliveryTag || string(v.RoutingKey) != d.RoutingKey || string(v.ConsumerTag) != d.ConsumerTag {
					t.Fatalf("DeliverView disagrees with ParseMethod: %+v vs %+v", v, d)
				}
			}
		}
		if ch, err := ParseContentHeader(p); err == nil {
			b1, err := AppendContentHeader(nil, ch)
			if err != nil {
				t.Fatalf("decoded header does not re-encode: %v", err)
			}
			ch2, err := ParseContentHeader(b1)
			if err != nil {
				t.Fatalf("re-encoded header does not decode: %v", err)
			}
			b2, _ := AppendContentHeader(nil, ch2)
			if !bytes.Equal(b1, b2) {
				t.Fatal("content header encoding is not a fixed point")
			}
			id, typ, ok := PropertiesView(p)
			if !ok || string(id) != ch.Properties.MessageID || string(typ) != ch.Properties.Type {
				t.Fatalf("PropertiesView = %q %q %v, decoder says %q %q", id, typ, ok, ch.Properties.MessageID, ch.Properties.Type)
			}
		}
		if tb, _, err := ParseTable(p); err == nil {
			b1, err := AppendTable(nil, tb)
			if err != nil {
				t.Fatalf("decoded table does not re-encode: %v", err)
			}
			tb2, _, err := ParseTable(b1)
			if err != nil {
				t.Fatalf("re-encoded table does not decode: %v", err)
			}
			b2, _ := AppendTable(nil, tb2)
			if !bytes.Equal(b1, b2) {
				t.Fatal("table encoding is not a fixed point")
			}
		}
	})
}
