package messaging

import (
	"errors"
	"reflect"
	"regexp"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// toDelivery mimics what the broker hands a consumer for a publishing.
func toDelivery(p amqp.Publishing) amqp.Delivery {
	return amqp.Delivery{
		MessageId: p.MessageId, Type: p.Type, CorrelationId: p.CorrelationId, ContentType: p.ContentType,
		DeliveryMode: p.DeliveryMode, Timestamp: p.Timestamp, Headers: p.Headers, Body: p.Body,
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	m := MustMessage("TicketQualified", map[string]any{"ticketId": "t-1", "version": 3}).
		WithAggregate("t-1", 3).WithCorrelation("flow-9").WithPartitionKey("t-1")
	m.CausationID = "cause-1"
	m.Headers = map[string]string{"x-extra": "yes"}
	m.Timestamp = m.Timestamp.Truncate(time.Second)
	p := m.Publishing(amqp.Table{HeaderAttempt: int32(2), HeaderLastError: "boom"})
	if p.DeliveryMode != amqp.Persistent || p.ContentType != ContentTypeJSON {
		t.Fatalf("publishing not persistent JSON: %+v", p)
	}
	if err := p.Headers.Validate(); err != nil {
		t.Fatalf("headers are not valid AMQP: %v", err)
	}
	got, tr, err := DecodeDelivery(toDelivery(p))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, m)
	}
	if tr.Attempt != 2 || tr.LastError != "boom" {
		t.Fatalf("transport = %+v", tr)
	}
	var body struct {
		TicketID string `json:"ticketId"`
	}
	if err := got.Decode(&body); err != nil || body.TicketID != "t-1" {
		t.Fatalf("decode body: %v %+v", err, body)
	}
}

func TestDecodeDeliveryAcceptsOtherClientsHeaders(t *testing.T) {
	d := amqp.Delivery{MessageId: "m", Type: "T", Headers: amqp.Table{
		HeaderAggregateID: "a", HeaderAggregateVersion: "4", HeaderAttempt: int64(3), "traceparent": "00-x", "n": int32(1),
	}}
	m, tr, err := DecodeDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	if m.AggregateVersion != 4 || tr.Attempt != 3 || m.Headers["traceparent"] != "00-x" {
		t.Fatalf("got %+v %+v", m, tr)
	}
	if _, ok := m.Headers["n"]; ok {
		t.Fatal("non-string extra header kept")
	}
}

func TestDecodeDeliveryRejectsMalformed(t *testing.T) {
	for name, d := range map[string]amqp.Delivery{
		"no id":          {Type: "T"},
		"no type":        {MessageId: "m"},
		"bad version":    {MessageId: "m", Type: "T", Headers: amqp.Table{HeaderAggregateID: "a", HeaderAggregateVersion: "x"}},
		"negative":       {MessageId: "m", Type: "T", Headers: amqp.Table{HeaderAggregateID: "a", HeaderAggregateVersion: int64(-1)}},
		"version no id":  {MessageId: "m", Type: "T", Headers: amqp.Table{HeaderAggregateVersion: int32(1)}},
		"attempt zero":   {MessageId: "m", Type: "T", Headers: amqp.Table{HeaderAttempt: int32(0)}},
		"id not string":  {MessageId: "m", Type: "T", Headers: amqp.Table{HeaderAggregateID: int32(5)}},
		"attempt binary": {MessageId: "m", Type: "T", Headers: amqp.Table{HeaderAttempt: []byte("1")}},
	} {
		if _, _, err := DecodeDelivery(d); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestNewIDIsUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

// FuzzDecodeDelivery feeds hostile envelopes and headers: decoding must never
// panic, and whatever decodes cleanly must survive a publish/decode round trip.
func FuzzDecodeDelivery(f *testing.F) {
	f.Add("id-1", "TicketCreated", "corr", "agg-1", int64(1), "", int64(1), "", []byte(`{"id":"x"}`), "k", "v", uint8(0))
	f.Add("", "", "", "", int64(0), "", int64(0), "", []byte{}, "", "", uint8(1))
	f.Add("id", "T", "", "a", int64(-5), "12", int64(99), "boom", []byte("not json"), "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", uint8(2))
	f.Add("id", "T", "", "", int64(7), "x", int64(1<<40), "", []byte(`[]`), "aggregate-id", "z", uint8(3))
	f.Fuzz(func(t *testing.T, id, typ, corr, aggID string, ver int64, verStr string, attempt int64, lastErr string, body []byte, k, v string, shape uint8) {
		h := amqp.Table{}
		if aggID != "" {
			h[HeaderAggregateID] = aggID
		}
		switch shape % 4 {
		case 0:
			h[HeaderAggregateVersion] = ver
			h[HeaderAttempt] = int32(attempt)
		case 1:
			h[HeaderAggregateVersion] = verStr
			h[HeaderAttempt] = attempt
		case 2:
			h[HeaderAggregateVersion] = int16(ver)
			h[HeaderAttempt] = verStr
		case 3:
			h[HeaderAggregateVersion] = []byte(verStr)
			h[HeaderAttempt] = float64(attempt)
		}
		if lastErr != "" {
			h[HeaderLastError] = lastErr
		}
		if k != "" {
			h[k] = v
		}
		d := amqp.Delivery{MessageId: id, Type: typ, CorrelationId: corr, Headers: h, Body: body}
		m, tr, err := DecodeDelivery(d)
		var payload any
		_ = m.Decode(&payload) // must not panic either
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			_ = sanitize(d).Publishing(nil) // the dead-letter path must cope
			return
		}
		if tr.Attempt < 1 || m.AggregateVersion < 0 {
			t.Fatalf("decoded out-of-range values: %+v %+v", m, tr)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded cleanly but invalid: %v", err)
		}
		p := m.Publishing(amqp.Table{HeaderAttempt: int32(tr.Attempt)})
		m2, tr2, err := DecodeDelivery(toDelivery(p))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) || tr2.Attempt != tr.Attempt {
			t.Fatalf("round trip changed:\n%+v\n%+v", m, m2)
		}
	})
}
