package messaging

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// AMQP header names of the envelope (DESIGN §4). traceparent/tracestate are
// written by tracing/otelamqp.
const (
	HeaderAggregateID      = "aggregate-id"
	HeaderAggregateVersion = "aggregate-version"
	HeaderCausationID      = "causation-id"
	HeaderAttempt          = "attempt"    // 1 for the first handling; set on retry copies
	HeaderLastError        = "last-error" // the last handler error, on retry and dead-letter copies
	HeaderOriginalQueue    = "original-queue"
	HeaderPartitionKey     = "hash-on" // x-consistent-hash exchanges hash on this header
)

// ContentTypeJSON is the content type of every message body.
const ContentTypeJSON = "application/json"

// Message is one logical message: what a producer publishes and what a
// consumer receives. ID stays the same across republishes and redeliveries.
type Message struct {
	// ID is the AMQP message_id, unique per logical message.
	ID string
	// Type is the AMQP type property (e.g. "TicketCreated"); consumers dispatch on it.
	Type string
	// CorrelationID is the business flow id (AMQP correlation_id).
	CorrelationID string
	// CausationID is the id of the message whose handling produced this one.
	CausationID string
	// AggregateID and AggregateVersion identify the entity and its version
	// after the change; version 0 means "not versioned".
	AggregateID      string
	AggregateVersion int64
	// PartitionKey, when set, is sent as the hash-on header for
	// x-consistent-hash exchanges.
	PartitionKey string
	// Headers are extra string headers.
	Headers map[string]string
	// Body is the JSON payload.
	Body []byte
	// Timestamp is when the message was created (second precision on the wire).
	Timestamp time.Time
}

// NewMessage builds a message of type typ with payload marshalled as JSON
// and a fresh random id.
func NewMessage(typ string, payload any) (Message, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return Message{}, fmt.Errorf("marshal %s: %w", typ, err)
	}
	return Message{ID: NewID(), Type: typ, Body: body, Timestamp: time.Now().UTC()}, nil
}

// MustMessage is NewMessage for payloads that always marshal (tests, examples).
func MustMessage(typ string, payload any) Message {
	m, err := NewMessage(typ, payload)
	if err != nil {
		panic(err)
	}
	return m
}

// WithAggregate returns m with the aggregate id and version set.
func (m Message) WithAggregate(id string, version int64) Message {
	m.AggregateID, m.AggregateVersion = id, version
	return m
}

// WithCorrelation returns m with the correlation id set.
func (m Message) WithCorrelation(id string) Message {
	m.CorrelationID = id
	return m
}

// WithPartitionKey returns m with the partition key (hash-on header) set.
func (m Message) WithPartitionKey(k string) Message {
	m.PartitionKey = k
	return m
}

// Decode unmarshals the JSON body into v.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("decode %s %s: %w", m.Type, m.ID, err)
	}
	return nil
}

// Validate reports what makes m unpublishable.
func (m Message) Validate() error {
	var errs []error
	if m.ID == "" {
		errs = append(errs, errors.New("message id is empty"))
	}
	if m.Type == "" {
		errs = append(errs, errors.New("message type is empty"))
	}
	if m.AggregateVersion < 0 {
		errs = append(errs, fmt.Errorf("aggregate version %d is negative", m.AggregateVersion))
	}
	if m.AggregateVersion > 0 && m.AggregateID == "" {
		errs = append(errs, errors.New("aggregate version without aggregate id"))
	}
	return errors.Join(errs...)
}

// Publishing converts m into AMQP properties; extra carries transport headers
// (trace context, attempt) that override m.Headers.
func (m Message) Publishing(extra amqp.Table) amqp.Publishing {
	h := amqp.Table{}
	for k, v := range m.Headers {
		h[k] = v
	}
	if m.AggregateID != "" {
		h[HeaderAggregateID] = m.AggregateID
	}
	if m.AggregateVersion > 0 {
		h[HeaderAggregateVersion] = m.AggregateVersion
	}
	if m.CausationID != "" {
		h[HeaderCausationID] = m.CausationID
	}
	if m.PartitionKey != "" {
		h[HeaderPartitionKey] = m.PartitionKey
	}
	maps.Copy(h, extra)
	return amqp.Publishing{
		MessageId:     m.ID,
		Type:          m.Type,
		CorrelationId: m.CorrelationID,
		ContentType:   ContentTypeJSON,
		DeliveryMode:  amqp.Persistent,
		Timestamp:     m.Timestamp,
		Headers:       h,
		Body:          m.Body,
	}
}

// reserved headers are decoded into Message fields, not Headers.
var reserved = map[string]bool{
	HeaderAggregateID: true, HeaderAggregateVersion: true, HeaderCausationID: true, HeaderPartitionKey: true,
	HeaderAttempt: true, HeaderLastError: true, HeaderOriginalQueue: true,
}

// Transport is what a delivery says about its own history, decoded from headers.
type Transport struct {
	// Attempt is 1 for the first handling, n for the n-th (from the attempt header).
	Attempt int
	// LastError is the previous attempt's error, if any.
	LastError string
	// OriginalQueue is the queue a retry or dead-letter copy came from.
	OriginalQueue string
}

// ErrMalformed marks a delivery that cannot be handled (no id or type, or an
// invalid envelope header). Such a delivery goes to the dead-letter queue
// (retries on) or is rejected without requeue (retries off).
var ErrMalformed = errors.New("malformed message")

// DecodeDelivery reads the envelope from an AMQP delivery. It never panics on
// hostile input: unexpected header types are errors, unknown headers are kept
// as strings when they are strings and dropped otherwise.
func DecodeDelivery(d amqp.Delivery) (Message, Transport, error) {
	m := Message{
		ID:            d.MessageId,
		Type:          d.Type,
		CorrelationID: d.CorrelationId,
		Body:          d.Body,
		Timestamp:     d.Timestamp,
	}
	tr := Transport{Attempt: 1}
	var errs []error
	if m.ID == "" {
		errs = append(errs, errors.New("no message_id"))
	}
	if m.Type == "" {
		errs = append(errs, errors.New("no type"))
	}
	for k, v := range d.Headers {
		switch k {
		case HeaderAggregateID, HeaderCausationID, HeaderPartitionKey, HeaderLastError, HeaderOriginalQueue:
			s, ok := v.(string)
			if !ok {
				errs = append(errs, fmt.Errorf("header %s: want a string, got %T", k, v))
				continue
			}
			switch k {
			case HeaderAggregateID:
				m.AggregateID = s
			case HeaderCausationID:
				m.CausationID = s
			case HeaderPartitionKey:
				m.PartitionKey = s
			case HeaderLastError:
				tr.LastError = s
			case HeaderOriginalQueue:
				tr.OriginalQueue = s
			}
		case HeaderAggregateVersion:
			n, err := headerInt(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("header %s: %v (%v)", k, v, err))
				continue
			}
			m.AggregateVersion = n
		case HeaderAttempt:
			n, err := headerInt(v)
			if err != nil || n < 1 || n > 1<<20 {
				errs = append(errs, fmt.Errorf("header %s: %v (%v)", k, v, err))
				continue
			}
			tr.Attempt = int(n)
		default:
			if s, ok := v.(string); ok {
				if m.Headers == nil {
					m.Headers = map[string]string{}
				}
				m.Headers[k] = s
			}
		}
	}
	if m.AggregateVersion > 0 && m.AggregateID == "" {
		errs = append(errs, errors.New("aggregate version without aggregate id"))
	}
	if len(errs) > 0 {
		return m, tr, fmt.Errorf("%w: %w", ErrMalformed, errors.Join(errs...))
	}
	return m, tr, nil
}

// headerInt accepts every AMQP integer type and decimal strings (other
// clients stringify headers, as the original Ticketflow did).
func headerInt(v any) (int64, error) {
	switch n := v.(type) {
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case uint8:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case string:
		return strconv.ParseInt(n, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %T", v)
}

// NewID returns a random UUIDv4 string for message ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
