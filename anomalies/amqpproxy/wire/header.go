package wire

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Property flag bits of the basic class, in wire order.
const (
	flagContentType     = 1 << 15
	flagContentEncoding = 1 << 14
	flagHeaders         = 1 << 13
	flagDeliveryMode    = 1 << 12
	flagPriority        = 1 << 11
	flagCorrelationID   = 1 << 10
	flagReplyTo         = 1 << 9
	flagExpiration      = 1 << 8
	flagMessageID       = 1 << 7
	flagTimestamp       = 1 << 6
	flagType            = 1 << 5
	flagUserID          = 1 << 4
	flagAppID           = 1 << 3
	flagClusterID       = 1 << 2
	flagContinuation    = 1 << 0
)

// Properties are the basic-class content properties. A zero field is absent
// on the wire. Timestamp has one-second resolution and decodes in UTC.
type Properties struct {
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string
	MessageID       string
	Timestamp       time.Time
	Type            string
	UserID          string
	AppID           string
	ClusterID       string
}

// ContentHeader is a content-header frame payload.
type ContentHeader struct {
	ClassID    uint16
	Weight     uint16
	BodySize   uint64
	Properties Properties
}

// AppendContentHeader appends h as a content-header payload.
func AppendContentHeader(dst []byte, h ContentHeader) ([]byte, error) {
	p := &h.Properties
	var flags uint16
	set := func(present bool, f uint16) {
		if present {
			flags |= f
		}
	}
	set(p.ContentType != "", flagContentType)
	set(p.ContentEncoding != "", flagContentEncoding)
	set(len(p.Headers) > 0, flagHeaders)
	set(p.DeliveryMode != 0, flagDeliveryMode)
	set(p.Priority != 0, flagPriority)
	set(p.CorrelationID != "", flagCorrelationID)
	set(p.ReplyTo != "", flagReplyTo)
	set(p.Expiration != "", flagExpiration)
	set(p.MessageID != "", flagMessageID)
	set(!p.Timestamp.IsZero(), flagTimestamp)
	set(p.Type != "", flagType)
	set(p.UserID != "", flagUserID)
	set(p.AppID != "", flagAppID)
	set(p.ClusterID != "", flagClusterID)

	start := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, h.ClassID)
	dst = binary.BigEndian.AppendUint16(dst, h.Weight)
	dst = binary.BigEndian.AppendUint64(dst, h.BodySize)
	dst = binary.BigEndian.AppendUint16(dst, flags)
	if flags&flagContentType != 0 {
		dst = appendShortstr(dst, p.ContentType)
	}
	if flags&flagContentEncoding != 0 {
		dst = appendShortstr(dst, p.ContentEncoding)
	}
	if flags&flagHeaders != 0 {
		var err error
		if dst, err = AppendTable(dst, p.Headers); err != nil {
			return dst[:start], fmt.Errorf("headers: %w", err)
		}
	}
	if flags&flagDeliveryMode != 0 {
		dst = append(dst, p.DeliveryMode)
	}
	if flags&flagPriority != 0 {
		dst = append(dst, p.Priority)
	}
	for _, f := range []struct {
		flag uint16
		v    string
	}{{flagCorrelationID, p.CorrelationID}, {flagReplyTo, p.ReplyTo}, {flagExpiration, p.Expiration}, {flagMessageID, p.MessageID}} {
		if flags&f.flag != 0 {
			dst = appendShortstr(dst, f.v)
		}
	}
	if flags&flagTimestamp != 0 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(p.Timestamp.Unix()))
	}
	for _, f := range []struct {
		flag uint16
		v    string
	}{{flagType, p.Type}, {flagUserID, p.UserID}, {flagAppID, p.AppID}, {flagClusterID, p.ClusterID}} {
		if flags&f.flag != 0 {
			dst = appendShortstr(dst, f.v)
		}
	}
	return dst, nil
}

// ParseContentHeader decodes a content-header payload.
func ParseContentHeader(payload []byte) (ContentHeader, error) {
	d := &decoder{b: payload}
	var h ContentHeader
	h.ClassID, h.Weight, h.BodySize = d.u16(), d.u16(), d.u64()
	flags := d.u16()
	if d.err == nil && flags&flagContentContinuationMask != 0 {
		d.fail("property flags beyond the basic class")
	}
	p := &h.Properties
	if flags&flagContentType != 0 {
		p.ContentType = d.shortstr()
	}
	if flags&flagContentEncoding != 0 {
		p.ContentEncoding = d.shortstr()
	}
	if flags&flagHeaders != 0 {
		p.Headers = d.table(0)
	}
	if flags&flagDeliveryMode != 0 {
		p.DeliveryMode = d.u8()
	}
	if flags&flagPriority != 0 {
		p.Priority = d.u8()
	}
	if flags&flagCorrelationID != 0 {
		p.CorrelationID = d.shortstr()
	}
	if flags&flagReplyTo != 0 {
		p.ReplyTo = d.shortstr()
	}
	if flags&flagExpiration != 0 {
		p.Expiration = d.shortstr()
	}
	if flags&flagMessageID != 0 {
		p.MessageID = d.shortstr()
	}
	if flags&flagTimestamp != 0 {
		p.Timestamp = time.Unix(int64(d.u64()), 0).UTC()
	}
	if flags&flagType != 0 {
		p.Type = d.shortstr()
	}
	if flags&flagUserID != 0 {
		p.UserID = d.shortstr()
	}
	if flags&flagAppID != 0 {
		p.AppID = d.shortstr()
	}
	if flags&flagClusterID != 0 {
		p.ClusterID = d.shortstr()
	}
	if err := d.done(); err != nil {
		return ContentHeader{}, fmt.Errorf("content header: %w", err)
	}
	return h, nil
}

// flagContentContinuationMask covers the continuation bit and the unused bit
// 1: the basic class has fourteen properties, so neither may be set.
const flagContentContinuationMask = flagContinuation | 1<<1
