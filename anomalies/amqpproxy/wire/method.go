package wire

import (
	"encoding/binary"
	"fmt"
)

// Class ids.
const (
	ClassConnection = 10
	ClassChannel    = 20
	ClassBasic      = 60
	ClassConfirm    = 85
)

// MethodKey packs a class id and a method id into one comparable value.
type MethodKey uint32

// Key builds a MethodKey.
func Key(class, method uint16) MethodKey { return MethodKey(uint32(class)<<16 | uint32(method)) }

// The methods this package decodes, as keys.
var (
	KeyConnectionClose   = Key(10, 50)
	KeyConnectionCloseOk = Key(10, 51)
	KeyChannelOpen       = Key(20, 10)
	KeyChannelOpenOk     = Key(20, 11)
	KeyChannelClose      = Key(20, 40)
	KeyChannelCloseOk    = Key(20, 41)
	KeyBasicQos          = Key(60, 10)
	KeyBasicQosOk        = Key(60, 11)
	KeyBasicConsume      = Key(60, 20)
	KeyBasicConsumeOk    = Key(60, 21)
	KeyBasicCancel       = Key(60, 30)
	KeyBasicCancelOk     = Key(60, 31)
	KeyBasicPublish      = Key(60, 40)
	KeyBasicReturn       = Key(60, 50)
	KeyBasicDeliver      = Key(60, 60)
	KeyBasicGet          = Key(60, 70)
	KeyBasicGetOk        = Key(60, 71)
	KeyBasicGetEmpty     = Key(60, 72)
	KeyBasicAck          = Key(60, 80)
	KeyBasicReject       = Key(60, 90)
	KeyBasicRecoverAsync = Key(60, 100)
	KeyBasicRecover      = Key(60, 110)
	KeyBasicRecoverOk    = Key(60, 111)
	KeyBasicNack         = Key(60, 120)
	KeyConfirmSelect     = Key(85, 10)
	KeyConfirmSelectOk   = Key(85, 11)
)

// MethodKeyOf reads the class and method ids at the start of a method
// payload.
func MethodKeyOf(payload []byte) (MethodKey, bool) {
	if len(payload) < 4 {
		return 0, false
	}
	return MethodKey(binary.BigEndian.Uint32(payload)), true
}

// Method is one decoded method frame payload.
type Method interface {
	// Key names the method.
	Key() MethodKey
	appendArgs(dst []byte) ([]byte, error)
	decodeArgs(d *decoder)
}

// AppendMethod appends m's payload: class id, method id, arguments. It fails
// only for an argument table holding an unsupported value type.
func AppendMethod(dst []byte, m Method) ([]byte, error) {
	out, err := m.appendArgs(binary.BigEndian.AppendUint32(dst, uint32(m.Key())))
	if err != nil {
		return dst, fmt.Errorf("encode method %d.%d: %w", m.Key()>>16, m.Key()&0xffff, err)
	}
	return out, nil
}

// ParseMethod decodes a method payload. Methods outside the set listed in
// the Key* variables return an error wrapping ErrUnknownMethod.
func ParseMethod(payload []byte) (Method, error) {
	k, ok := MethodKeyOf(payload)
	if !ok {
		return nil, fmt.Errorf("method payload of %d bytes: %w", len(payload), ErrMalformed)
	}
	m := newMethod(k)
	if m == nil {
		return nil, fmt.Errorf("method %d.%d: %w", k>>16, k&0xffff, ErrUnknownMethod)
	}
	d := &decoder{b: payload, off: 4}
	m.decodeArgs(d)
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("method %d.%d: %w", k>>16, k&0xffff, err)
	}
	return m, nil
}

// ErrUnknownMethod reports a method this package does not decode; the proxy
// passes such frames through untouched.
var ErrUnknownMethod = fmt.Errorf("method not decoded by this package")

func newMethod(k MethodKey) Method {
	switch k {
	case KeyConnectionClose:
		return &ConnectionClose{}
	case KeyConnectionCloseOk:
		return &ConnectionCloseOk{}
	case KeyChannelOpen:
		return &ChannelOpen{}
	case KeyChannelOpenOk:
		return &ChannelOpenOk{}
	case KeyChannelClose:
		return &ChannelClose{}
	case KeyChannelCloseOk:
		return &ChannelCloseOk{}
	case KeyBasicQos:
		return &BasicQos{}
	case KeyBasicQosOk:
		return &BasicQosOk{}
	case KeyBasicConsume:
		return &BasicConsume{}
	case KeyBasicConsumeOk:
		return &BasicConsumeOk{}
	case KeyBasicCancel:
		return &BasicCancel{}
	case KeyBasicCancelOk:
		return &BasicCancelOk{}
	case KeyBasicPublish:
		return &BasicPublish{}
	case KeyBasicReturn:
		return &BasicReturn{}
	case KeyBasicDeliver:
		return &BasicDeliver{}
	case KeyBasicGet:
		return &BasicGet{}
	case KeyBasicGetOk:
		return &BasicGetOk{}
	case KeyBasicGetEmpty:
		return &BasicGetEmpty{}
	case KeyBasicAck:
		return &BasicAck{}
	case KeyBasicReject:
		return &BasicReject{}
	case KeyBasicRecoverAsync:
		return &BasicRecoverAsync{}
	case KeyBasicRecover:
		return &BasicRecover{}
	case KeyBasicRecoverOk:
		return &BasicRecoverOk{}
	case KeyBasicNack:
		return &BasicNack{}
	case KeyConfirmSelect:
		return &ConfirmSelect{}
	case KeyConfirmSelectOk:
		return &ConfirmSelectOk{}
	}
	return nil
}

// ConnectionClose is connection.close.
type ConnectionClose struct {
	ReplyCode uint16
	ReplyText string
	ClassID   uint16
	MethodID  uint16
}

func (*ConnectionClose) Key() MethodKey { return KeyConnectionClose }
func (m *ConnectionClose) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, m.ReplyCode)
	dst = appendShortstr(dst, m.ReplyText)
	dst = binary.BigEndian.AppendUint16(dst, m.ClassID)
	return binary.BigEndian.AppendUint16(dst, m.MethodID), nil
}
func (m *ConnectionClose) decodeArgs(d *decoder) {
	m.ReplyCode, m.ReplyText, m.ClassID, m.MethodID = d.u16(), d.shortstr(), d.u16(), d.u16()
}

// ConnectionCloseOk is connection.close-ok.
type ConnectionCloseOk struct{}

func (*ConnectionCloseOk) Key() MethodKey                        { return KeyConnectionCloseOk }
func (*ConnectionCloseOk) appendArgs(dst []byte) ([]byte, error) { return dst, nil }
func (*ConnectionCloseOk) decodeArgs(*decoder)                   {}

// ChannelOpen is channel.open.
type ChannelOpen struct{ Reserved1 string }

func (*ChannelOpen) Key() MethodKey { return KeyChannelOpen }
func (m *ChannelOpen) appendArgs(dst []byte) ([]byte, error) {
	return appendShortstr(dst, m.Reserved1), nil
}
func (m *ChannelOpen) decodeArgs(d *decoder) { m.Reserved1 = d.shortstr() }

// ChannelOpenOk is channel.open-ok.
type ChannelOpenOk struct{ Reserved1 string }

func (*ChannelOpenOk) Key() MethodKey { return KeyChannelOpenOk }
func (m *ChannelOpenOk) appendArgs(dst []byte) ([]byte, error) {
	return appendLongstr(dst, m.Reserved1), nil
}
func (m *ChannelOpenOk) decodeArgs(d *decoder) { m.Reserved1 = d.longstr() }

// ChannelClose is channel.close.
type ChannelClose struct {
	ReplyCode uint16
	ReplyText string
	ClassID   uint16
	MethodID  uint16
}

func (*ChannelClose) Key() MethodKey { return KeyChannelClose }
func (m *ChannelClose) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, m.ReplyCode)
	dst = appendShortstr(dst, m.ReplyText)
	dst = binary.BigEndian.AppendUint16(dst, m.ClassID)
	return binary.BigEndian.AppendUint16(dst, m.MethodID), nil
}
func (m *ChannelClose) decodeArgs(d *decoder) {
	m.ReplyCode, m.ReplyText, m.ClassID, m.MethodID = d.u16(), d.shortstr(), d.u16(), d.u16()
}

// ChannelCloseOk is channel.close-ok.
type ChannelCloseOk struct{}

func (*ChannelCloseOk) Key() MethodKey                        { return KeyChannelCloseOk }
func (*ChannelCloseOk) appendArgs(dst []byte) ([]byte, error) { return dst, nil }
func (*ChannelCloseOk) decodeArgs(*decoder)                   {}

// BasicQos is basic.qos.
type BasicQos struct {
	PrefetchSize  uint32
	PrefetchCount uint16
	Global        bool
}

func (*BasicQos) Key() MethodKey { return KeyBasicQos }
func (m *BasicQos) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint32(dst, m.PrefetchSize)
	dst = binary.BigEndian.AppendUint16(dst, m.PrefetchCount)
	return appendBits(dst, m.Global), nil
}
func (m *BasicQos) decodeArgs(d *decoder) {
	m.PrefetchSize, m.PrefetchCount = d.u32(), d.u16()
	m.Global = bit(d.u8(), 0)
}

// BasicQosOk is basic.qos-ok.
type BasicQosOk struct{}

func (*BasicQosOk) Key() MethodKey                        { return KeyBasicQosOk }
func (*BasicQosOk) appendArgs(dst []byte) ([]byte, error) { return dst, nil }
func (*BasicQosOk) decodeArgs(*decoder)                   {}

// BasicConsume is basic.consume.
type BasicConsume struct {
	Reserved1   uint16
	Queue       string
	ConsumerTag string
	NoLocal     bool
	NoAck       bool
	Exclusive   bool
	NoWait      bool
	Arguments   Table
}

func (*BasicConsume) Key() MethodKey { return KeyBasicConsume }
func (m *BasicConsume) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, m.Reserved1)
	dst = appendShortstr(dst, m.Queue)
	dst = appendShortstr(dst, m.ConsumerTag)
	dst = appendBits(dst, m.NoLocal, m.NoAck, m.Exclusive, m.NoWait)
	return AppendTable(dst, m.Arguments)
}
func (m *BasicConsume) decodeArgs(d *decoder) {
	m.Reserved1, m.Queue, m.ConsumerTag = d.u16(), d.shortstr(), d.shortstr()
	b := d.u8()
	m.NoLocal, m.NoAck, m.Exclusive, m.NoWait = bit(b, 0), bit(b, 1), bit(b, 2), bit(b, 3)
	m.Arguments = d.table(0)
}

// BasicConsumeOk is basic.consume-ok.
type BasicConsumeOk struct{ ConsumerTag string }

func (*BasicConsumeOk) Key() MethodKey { return KeyBasicConsumeOk }
func (m *BasicConsumeOk) appendArgs(dst []byte) ([]byte, error) {
	return appendShortstr(dst, m.ConsumerTag), nil
}
func (m *BasicConsumeOk) decodeArgs(d *decoder) { m.ConsumerTag = d.shortstr() }

// BasicCancel is basic.cancel.
type BasicCancel struct {
	ConsumerTag string
	NoWait      bool
}

func (*BasicCancel) Key() MethodKey { return KeyBasicCancel }
func (m *BasicCancel) appendArgs(dst []byte) ([]byte, error) {
	return appendBits(appendShortstr(dst, m.ConsumerTag), m.NoWait), nil
}
func (m *BasicCancel) decodeArgs(d *decoder) {
	m.ConsumerTag = d.shortstr()
	m.NoWait = bit(d.u8(), 0)
}

// BasicCancelOk is basic.cancel-ok.
type BasicCancelOk struct{ ConsumerTag string }

func (*BasicCancelOk) Key() MethodKey { return KeyBasicCancelOk }
func (m *BasicCancelOk) appendArgs(dst []byte) ([]byte, error) {
	return appendShortstr(dst, m.ConsumerTag), nil
}
func (m *BasicCancelOk) decodeArgs(d *decoder) { m.ConsumerTag = d.shortstr() }

// BasicPublish is basic.publish.
type BasicPublish struct {
	Reserved1  uint16
	Exchange   string
	RoutingKey string
	Mandatory  bool
	Immediate  bool
}

func (*BasicPublish) Key() MethodKey { return KeyBasicPublish }
func (m *BasicPublish) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, m.Reserved1)
	dst = appendShortstr(dst, m.Exchange)
	dst = appendShortstr(dst, m.RoutingKey)
	return appendBits(dst, m.Mandatory, m.Immediate), nil
}
func (m *BasicPublish) decodeArgs(d *decoder) {
	m.Reserved1, m.Exchange, m.RoutingKey = d.u16(), d.shortstr(), d.shortstr()
	b := d.u8()
	m.Mandatory, m.Immediate = bit(b, 0), bit(b, 1)
}

// BasicReturn is basic.return.
type BasicReturn struct {
	ReplyCode  uint16
	ReplyText  string
	Exchange   string
	RoutingKey string
}

func (*BasicReturn) Key() MethodKey { return KeyBasicReturn }
func (m *BasicReturn) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, m.ReplyCode)
	dst = appendShortstr(dst, m.ReplyText)
	dst = appendShortstr(dst, m.Exchange)
	return appendShortstr(dst, m.RoutingKey), nil
}
func (m *BasicReturn) decodeArgs(d *decoder) {
	m.ReplyCode, m.ReplyText, m.Exchange, m.RoutingKey = d.u16(), d.shortstr(), d.shortstr(), d.shortstr()
}

// BasicDeliver is basic.deliver.
type BasicDeliver struct {
	ConsumerTag string
	DeliveryTag uint64
	Redelivered bool
	Exchange    string
	RoutingKey  string
}

func (*BasicDeliver) Key() MethodKey { return KeyBasicDeliver }
func (m *BasicDeliver) appendArgs(dst []byte) ([]byte, error) {
	dst = appendShortstr(dst, m.ConsumerTag)
	dst = binary.BigEndian.AppendUint64(dst, m.DeliveryTag)
	dst = appendBits(dst, m.Redelivered)
	dst = appendShortstr(dst, m.Exchange)
	return appendShortstr(dst, m.RoutingKey), nil
}
func (m *BasicDeliver) decodeArgs(d *decoder) {
	m.ConsumerTag, m.DeliveryTag = d.shortstr(), d.u64()
	m.Redelivered = bit(d.u8(), 0)
	m.Exchange, m.RoutingKey = d.shortstr(), d.shortstr()
}

// BasicGet is basic.get.
type BasicGet struct {
	Reserved1 uint16
	Queue     string
	NoAck     bool
}

func (*BasicGet) Key() MethodKey { return KeyBasicGet }
func (m *BasicGet) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, m.Reserved1)
	return appendBits(appendShortstr(dst, m.Queue), m.NoAck), nil
}
func (m *BasicGet) decodeArgs(d *decoder) {
	m.Reserved1, m.Queue = d.u16(), d.shortstr()
	m.NoAck = bit(d.u8(), 0)
}

// BasicGetOk is basic.get-ok.
type BasicGetOk struct {
	DeliveryTag  uint64
	Redelivered  bool
	Exchange     string
	RoutingKey   string
	MessageCount uint32
}

func (*BasicGetOk) Key() MethodKey { return KeyBasicGetOk }
func (m *BasicGetOk) appendArgs(dst []byte) ([]byte, error) {
	dst = binary.BigEndian.AppendUint64(dst, m.DeliveryTag)
	dst = appendBits(dst, m.Redelivered)
	dst = appendShortstr(dst, m.Exchange)
	dst = appendShortstr(dst, m.RoutingKey)
	return binary.BigEndian.AppendUint32(dst, m.MessageCount), nil
}
func (m *BasicGetOk) decodeArgs(d *decoder) {
	m.DeliveryTag = d.u64()
	m.Redelivered = bit(d.u8(), 0)
	m.Exchange, m.RoutingKey, m.MessageCount = d.shortstr(), d.shortstr(), d.u32()
}

// BasicGetEmpty is basic.get-empty.
type BasicGetEmpty struct{ Reserved1 string }

func (*BasicGetEmpty) Key() MethodKey { return KeyBasicGetEmpty }
func (m *BasicGetEmpty) appendArgs(dst []byte) ([]byte, error) {
	return appendShortstr(dst, m.Reserved1), nil
}
func (m *BasicGetEmpty) decodeArgs(d *decoder) { m.Reserved1 = d.shortstr() }

// BasicAck is basic.ack (a consumer ack, or a publisher confirm when sent by
// the broker).
type BasicAck struct {
	DeliveryTag uint64
	Multiple    bool
}

func (*BasicAck) Key() MethodKey { return KeyBasicAck }
func (m *BasicAck) appendArgs(dst []byte) ([]byte, error) {
	return appendBits(binary.BigEndian.AppendUint64(dst, m.DeliveryTag), m.Multiple), nil
}
func (m *BasicAck) decodeArgs(d *decoder) {
	m.DeliveryTag = d.u64()
	m.Multiple = bit(d.u8(), 0)
}

// BasicReject is basic.reject.
type BasicReject struct {
	DeliveryTag uint64
	Requeue     bool
}

func (*BasicReject) Key() MethodKey { return KeyBasicReject }
func (m *BasicReject) appendArgs(dst []byte) ([]byte, error) {
	return appendBits(binary.BigEndian.AppendUint64(dst, m.DeliveryTag), m.Requeue), nil
}
func (m *BasicReject) decodeArgs(d *decoder) {
	m.DeliveryTag = d.u64()
	m.Requeue = bit(d.u8(), 0)
}

// BasicRecoverAsync is basic.recover-async.
type BasicRecoverAsync struct{ Requeue bool }

func (*BasicRecoverAsync) Key() MethodKey { return KeyBasicRecoverAsync }
func (m *BasicRecoverAsync) appendArgs(dst []byte) ([]byte, error) {
	return appendBits(dst, m.Requeue), nil
}
func (m *BasicRecoverAsync) decodeArgs(d *decoder) { m.Requeue = bit(d.u8(), 0) }

// BasicRecover is basic.recover.
type BasicRecover struct{ Requeue bool }

func (*BasicRecover) Key() MethodKey                          { return KeyBasicRecover }
func (m *BasicRecover) appendArgs(dst []byte) ([]byte, error) { return appendBits(dst, m.Requeue), nil }
func (m *BasicRecover) decodeArgs(d *decoder)                 { m.Requeue = bit(d.u8(), 0) }

// BasicRecoverOk is basic.recover-ok.
type BasicRecoverOk struct{}

func (*BasicRecoverOk) Key() MethodKey                        { return KeyBasicRecoverOk }
func (*BasicRecoverOk) appendArgs(dst []byte) ([]byte, error) { return dst, nil }
func (*BasicRecoverOk) decodeArgs(*decoder)                   {}

// BasicNack is basic.nack.
type BasicNack struct {
	DeliveryTag uint64
	Multiple    bool
	Requeue     bool
}

func (*BasicNack) Key() MethodKey { return KeyBasicNack }
func (m *BasicNack) appendArgs(dst []byte) ([]byte, error) {
	return appendBits(binary.BigEndian.AppendUint64(dst, m.DeliveryTag), m.Multiple, m.Requeue), nil
}
func (m *BasicNack) decodeArgs(d *decoder) {
	m.DeliveryTag = d.u64()
	b := d.u8()
	m.Multiple, m.Requeue = bit(b, 0), bit(b, 1)
}

// ConfirmSelect is confirm.select.
type ConfirmSelect struct{ NoWait bool }

func (*ConfirmSelect) Key() MethodKey                          { return KeyConfirmSelect }
func (m *ConfirmSelect) appendArgs(dst []byte) ([]byte, error) { return appendBits(dst, m.NoWait), nil }
func (m *ConfirmSelect) decodeArgs(d *decoder)                 { m.NoWait = bit(d.u8(), 0) }

// ConfirmSelectOk is confirm.select-ok.
type ConfirmSelectOk struct{}

func (*ConfirmSelectOk) Key() MethodKey                        { return KeyConfirmSelectOk }
func (*ConfirmSelectOk) appendArgs(dst []byte) ([]byte, error) { return dst, nil }
func (*ConfirmSelectOk) decodeArgs(*decoder)                   {}
