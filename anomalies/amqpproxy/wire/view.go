package wire

import "encoding/binary"

// The views below read fields straight from a method or header payload
// without allocating. Byte-slice results alias the payload.

// Deliver is a view of basic.deliver.
type Deliver struct {
	ConsumerTag []byte
	DeliveryTag uint64
	// TagOffset is the offset of the delivery tag within the payload.
	TagOffset   int
	Redelivered bool
	Exchange    []byte
	RoutingKey  []byte
}

// DeliverView reads a basic.deliver payload.
func DeliverView(p []byte) (Deliver, bool) {
	var v Deliver
	off := 4
	var ok bool
	if v.ConsumerTag, off, ok = shortstrAt(p, off); !ok || len(p) < off+9 {
		return Deliver{}, false
	}
	v.TagOffset = off
	v.DeliveryTag = binary.BigEndian.Uint64(p[off:])
	v.Redelivered = p[off+8]&1 != 0
	off += 9
	if v.Exchange, off, ok = shortstrAt(p, off); !ok {
		return Deliver{}, false
	}
	if v.RoutingKey, _, ok = shortstrAt(p, off); !ok {
		return Deliver{}, false
	}
	return v, true
}

// GetOkView reads the delivery tag of a basic.get-ok payload; the tag sits
// at offset 4.
func GetOkView(p []byte) (tag uint64, ok bool) {
	if len(p) < 12 {
		return 0, false
	}
	return binary.BigEndian.Uint64(p[4:]), true
}

// GetOkTagOffset is the offset of the delivery tag in a basic.get-ok payload.
const GetOkTagOffset = 4

// PublishView reads the exchange and routing key of a basic.publish payload.
func PublishView(p []byte) (exchange, routingKey []byte, ok bool) {
	if len(p) < 6 {
		return nil, nil, false
	}
	off := 6 // class, method, reserved-1
	if exchange, off, ok = shortstrAt(p, off); !ok {
		return nil, nil, false
	}
	routingKey, _, ok = shortstrAt(p, off)
	return exchange, routingKey, ok
}

// AckView reads basic.ack, basic.nack or basic.reject: the delivery tag and
// the flag bits (ack: bit 0 multiple; nack: bit 0 multiple, bit 1 requeue;
// reject: bit 0 requeue).
func AckView(p []byte) (tag uint64, bits byte, ok bool) {
	if len(p) < 13 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(p[4:]), p[12], true
}

// ContentHeaderView reads the body size of a content-header payload.
func ContentHeaderView(p []byte) (bodySize uint64, ok bool) {
	if len(p) < 14 {
		return 0, false
	}
	return binary.BigEndian.Uint64(p[4:]), true
}

// PropertiesView reads the message-id and type properties of a
// content-header payload, skipping the others (the headers table by its
// length prefix, without decoding it).
func PropertiesView(p []byte) (messageID, typ []byte, ok bool) {
	if len(p) < 14 {
		return nil, nil, false
	}
	flags := binary.BigEndian.Uint16(p[12:])
	off := 14
	skipShort := func() bool {
		_, off, ok = shortstrAt(p, off)
		return ok
	}
	if flags&flagContentType != 0 && !skipShort() {
		return nil, nil, false
	}
	if flags&flagContentEncoding != 0 && !skipShort() {
		return nil, nil, false
	}
	if flags&flagHeaders != 0 {
		if len(p) < off+4 {
			return nil, nil, false
		}
		n := uint64(binary.BigEndian.Uint32(p[off:]))
		if uint64(len(p)-off-4) < n {
			return nil, nil, false
		}
		off += 4 + int(n)
	}
	if flags&flagDeliveryMode != 0 {
		off++
	}
	if flags&flagPriority != 0 {
		off++
	}
	if off > len(p) {
		return nil, nil, false
	}
	for _, f := range []uint16{flagCorrelationID, flagReplyTo, flagExpiration} {
		if flags&f != 0 && !skipShort() {
			return nil, nil, false
		}
	}
	if flags&flagMessageID != 0 {
		if messageID, off, ok = shortstrAt(p, off); !ok {
			return nil, nil, false
		}
	}
	if flags&flagTimestamp != 0 {
		off += 8
		if off > len(p) {
			return nil, nil, false
		}
	}
	if flags&flagType != 0 {
		if typ, _, ok = shortstrAt(p, off); !ok {
			return nil, nil, false
		}
	}
	return messageID, typ, true
}

func shortstrAt(p []byte, off int) ([]byte, int, bool) {
	if off >= len(p) {
		return nil, off, false
	}
	n := int(p[off])
	off++
	if len(p)-off < n {
		return nil, off, false
	}
	return p[off : off+n], off + n, true
}
