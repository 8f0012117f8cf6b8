package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// decoder reads big-endian fields from b; the first failure sticks in err
// and later reads return zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at offset %d: %w", what, d.off, ErrMalformed)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail("truncated " + what)
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) u8() uint8 {
	s := d.take(1, "octet")
	if s == nil {
		return 0
	}
	return s[0]
}

func (d *decoder) u16() uint16 {
	s := d.take(2, "short")
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

func (d *decoder) u32() uint32 {
	s := d.take(4, "long")
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

func (d *decoder) u64() uint64 {
	s := d.take(8, "longlong")
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

func (d *decoder) shortstrBytes() []byte {
	n := d.u8()
	return d.take(int(n), "shortstr")
}

func (d *decoder) shortstr() string { return string(d.shortstrBytes()) }

func (d *decoder) longstrBytes() []byte {
	n := d.u32()
	if uint64(n) > math.MaxInt32 {
		d.fail("longstr length")
		return nil
	}
	return d.take(int(n), "longstr")
}

func (d *decoder) longstr() string { return string(d.longstrBytes()) }

// done reports trailing bytes as malformed, so that every method has exactly
// one encoding the decoder accepts.
func (d *decoder) done() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)-d.off))
	}
	return d.err
}

func appendShortstr(dst []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

func appendLongstr(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendBits(dst []byte, bits ...bool) []byte {
	var o byte
	for i, b := range bits {
		if b {
			o |= 1 << i
		}
	}
	return append(dst, o)
}

func bit(o byte, i uint) bool { return o&(1<<i) != 0 }
