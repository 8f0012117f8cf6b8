package common

import (
	"strings"
	"time"
)

// Subjects of the course's events (common/src/events/subjects.ts), plus
// order:updated, which only the fixed mode publishes (the L12 fix).
const (
	SubjectTicketCreated      = "ticket:created"
	SubjectTicketUpdated      = "ticket:updated"
	SubjectOrderCreated       = "order:created"
	SubjectOrderCancelled     = "order:cancelled"
	SubjectExpirationComplete = "expiration:complete"
	SubjectPaymentCreated     = "payment:created"
	// SubjectOrderUpdated carries an order's status and new version when it
	// becomes complete. The course has no such event (spec A.3, L12); the
	// fixed mode (toggle paymentGuards) publishes it so the payments replica
	// follows the master.
	SubjectOrderUpdated = "order:updated"
)

// Subjects lists every subject, the course's six first.
var Subjects = []string{SubjectTicketCreated, SubjectTicketUpdated, SubjectOrderCreated, SubjectOrderCancelled,
	SubjectExpirationComplete, SubjectPaymentCreated, SubjectOrderUpdated}

// Exchange is the topic exchange every event is published to (spec C.3).
const Exchange = "ticketsale.events"

// RoutingKey is a subject's routing key: "ticket:created" → "ticket.created".
func RoutingKey(subject string) string { return strings.ReplaceAll(subject, ":", ".") }

// Queue groups: one per service, shared by its replicas (NATS Streaming's
// durable queue group).
const (
	GroupTickets    = "tickets-service"
	GroupOrders     = "orders-service"
	GroupPayments   = "payments-service"
	GroupExpiration = "expiration-service"
)

// QueueName is the durable queue of a group for one subject, e.g.
// "orders-service.ticket.created".
func QueueName(group, subject string) string { return group + "." + RoutingKey(subject) }

// OrderStatus is an order's state (common/src/events/types/order-status.ts).
type OrderStatus string

// The order statuses. The course never sets AwaitingPayment.
const (
	OrderCreated         OrderStatus = "created"
	OrderCancelled       OrderStatus = "cancelled"
	OrderAwaitingPayment OrderStatus = "awaiting:payment"
	OrderComplete        OrderStatus = "complete"
)

// Active reports whether an order in status s holds its ticket (created,
// awaiting:payment or complete: the course's isReserved).
func (s OrderStatus) Active() bool {
	return s == OrderCreated || s == OrderAwaitingPayment || s == OrderComplete
}

// Valid reports whether s is one of the four statuses.
func (s OrderStatus) Valid() bool { return s.Active() || s == OrderCancelled }

// TicketCreated is the payload of ticket:created.
type TicketCreated struct {
	ID      string  `json:"id"`
	Version int64   `json:"version"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
}

// TicketUpdated is the payload of ticket:updated; OrderID is the reserving
// order, absent when the ticket is free.
type TicketUpdated struct {
	ID      string  `json:"id"`
	Version int64   `json:"version"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	OrderID string  `json:"orderId,omitempty"`
}

// TicketRef is the ticket inside order events.
type TicketRef struct {
	ID    string  `json:"id"`
	Price float64 `json:"price,omitempty"`
}

// OrderCreatedEvent is the payload of order:created. ExpiresAt is an ISO
// string, as the course sends it.
type OrderCreatedEvent struct {
	ID        string      `json:"id"`
	Version   int64       `json:"version"`
	Status    OrderStatus `json:"status"`
	UserID    string      `json:"userId"`
	ExpiresAt string      `json:"expiresAt"`
	Ticket    TicketRef   `json:"ticket"`
}

// OrderCancelledEvent is the payload of order:cancelled (ticket id only).
type OrderCancelledEvent struct {
	ID      string    `json:"id"`
	Version int64     `json:"version"`
	Ticket  TicketRef `json:"ticket"`
}

// OrderUpdatedEvent is the payload of order:updated (fixed mode only).
type OrderUpdatedEvent struct {
	ID      string      `json:"id"`
	Version int64       `json:"version"`
	Status  OrderStatus `json:"status"`
}

// ExpirationComplete is the payload of expiration:complete.
type ExpirationComplete struct {
	OrderID string `json:"orderId"`
}

// PaymentCreated is the payload of payment:created.
type PaymentCreated struct {
	ID       string `json:"id"`
	OrderID  string `json:"orderId"`
	StripeID string `json:"stripeId"`
}

// Event is one event a use case wants published: its subject, payload and
// the aggregate (id, version) it describes.
type Event struct {
	Subject     string
	Payload     any
	AggregateID string
	Version     int64
}

// FormatTime renders t the way JavaScript's toISOString does (UTC,
// milliseconds).
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// ParseTime reads a time written by FormatTime (or any RFC 3339 time).
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
