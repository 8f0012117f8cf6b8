package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame types and the frame-end octet.
const (
	FrameMethod    = 1
	FrameHeader    = 2
	FrameBody      = 3
	FrameHeartbeat = 8
	FrameEnd       = 0xCE

	// HeaderSize is the size of the frame envelope before the payload.
	HeaderSize = 7
	// Overhead is the envelope plus the frame-end octet.
	Overhead = HeaderSize + 1
)

// ProtocolHeader is what a 0-9-1 client sends first.
var ProtocolHeader = [8]byte{'A', 'M', 'Q', 'P', 0, 0, 9, 1}

// ErrMalformed reports bytes that are not a valid frame or argument list.
var ErrMalformed = errors.New("malformed AMQP data")

// ErrShort reports a buffer that ends before the frame does.
var ErrShort = errors.New("incomplete AMQP frame")

// Frame is one decoded frame. Payload aliases the parsed buffer.
type Frame struct {
	Type    uint8
	Channel uint16
	Payload []byte
}

// PeekHeader reads the envelope of the frame at the start of h (at least
// HeaderSize bytes).
func PeekHeader(h []byte) (typ uint8, channel uint16, size uint32) {
	return h[0], binary.BigEndian.Uint16(h[1:3]), binary.BigEndian.Uint32(h[3:7])
}

// ParseFrame parses the frame at the start of b and reports how many bytes it
// used. It returns ErrShort when b holds only part of a frame.
func ParseFrame(b []byte) (Frame, int, error) {
	if len(b) < HeaderSize {
		return Frame{}, 0, ErrShort
	}
	typ, ch, size := PeekHeader(b)
	total := uint64(size) + Overhead
	if uint64(len(b)) < total {
		return Frame{}, 0, ErrShort
	}
	if b[total-1] != FrameEnd {
		return Frame{}, 0, fmt.Errorf("frame end octet %#x, want 0xCE: %w", b[total-1], ErrMalformed)
	}
	switch typ {
	case FrameMethod, FrameHeader, FrameBody, FrameHeartbeat:
	default:
		return Frame{}, 0, fmt.Errorf("frame type %d: %w", typ, ErrMalformed)
	}
	return Frame{Type: typ, Channel: ch, Payload: b[HeaderSize : total-1]}, int(total), nil
}

// AppendFrame appends f in wire form.
func AppendFrame(dst []byte, f Frame) []byte {
	dst = append(dst, f.Type)
	dst = binary.BigEndian.AppendUint16(dst, f.Channel)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.Payload)))
	dst = append(dst, f.Payload...)
	return append(dst, FrameEnd)
}

// AppendMethodFrame appends a method frame carrying m on channel ch.
func AppendMethodFrame(dst []byte, ch uint16, m Method) ([]byte, error) {
	start := len(dst)
	dst = append(dst, FrameMethod, byte(ch>>8), byte(ch), 0, 0, 0, 0)
	dst, err := AppendMethod(dst, m)
	if err != nil {
		return dst[:start], err
	}
	binary.BigEndian.PutUint32(dst[start+3:], uint32(len(dst)-start-HeaderSize))
	return append(dst, FrameEnd), nil
}

// AppendHeaderFrame appends a content-header frame carrying h on channel ch.
func AppendHeaderFrame(dst []byte, ch uint16, h ContentHeader) ([]byte, error) {
	start := len(dst)
	dst = append(dst, FrameHeader, byte(ch>>8), byte(ch), 0, 0, 0, 0)
	dst, err := AppendContentHeader(dst, h)
	if err != nil {
		return dst[:start], err
	}
	binary.BigEndian.PutUint32(dst[start+3:], uint32(len(dst)-start-HeaderSize))
	return append(dst, FrameEnd), nil
}

// PutUint64 overwrites the eight bytes at b[off:] (a delivery tag a view
// located).
func PutUint64(b []byte, off int, v uint64) { binary.BigEndian.PutUint64(b[off:], v) }
