package snapshot

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Snapshot is every ticketsale store at the end of a run.
type Snapshot struct {
	// Stores are the databases read, in the order given.
	Stores []Store `json:"stores"`
	// Tickets are the tickets service's master records.
	Tickets []Ticket `json:"tickets"`
	// TicketReplicas are the orders service's copies of the tickets.
	TicketReplicas []TicketReplica `json:"ticketReplicas"`
	// Orders are the orders service's master records.
	Orders []Order `json:"orders"`
	// OrderReplicas are the payments service's copies of the orders.
	OrderReplicas []OrderReplica `json:"orderReplicas"`
	// Payments are the payments service's records of charges.
	Payments []Payment `json:"payments"`
	// PaymentRefunds are the refunds payments owes or did (fixed
	// paymentGuards).
	PaymentRefunds []PaymentRefund `json:"paymentRefunds,omitempty"`
	// Jobs are the expiration service's delayed jobs.
	Jobs []Job `json:"jobs"`
	// Charges are the charges the fake gateway took.
	Charges []Charge `json:"charges"`
	// Writes is every store's write log of versioned records.
	Writes []Write `json:"writes"`
	// TicketsSawCancelled are the orders the tickets service saw
	// cancelled (fixed cancelChecksOrderId), sorted.
	TicketsSawCancelled []string `json:"ticketsSawCancelled,omitempty"`
	// Users is how many users auth holds.
	Users int `json:"users"`
}

// Store is one database read.
type Store struct {
	Service  string `json:"service"`  // "orders"
	Instance string `json:"instance"` // "orders-1", the instance whose path was read
}

// Ticket is a ticket's master record (tickets service).
type Ticket struct {
	ID    string  `json:"id"`
	Title string  `json:"title"`
	Price float64 `json:"price"`
	// UserID is the seller.
	UserID string `json:"userId"`
	// OrderID is the order holding the reservation ("" = free).
	OrderID string `json:"orderId,omitempty"`
	Version int64  `json:"version"`
}

// TicketReplica is one replica's copy of a ticket.
type TicketReplica struct {
	// Store is the service keeping the replica ("orders").
	Store    string  `json:"store"`
	Instance string  `json:"instance"`
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	Price    float64 `json:"price"`
	Version  int64   `json:"version"`
}

// Order is an order's master record (orders service).
type Order struct {
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Status    common.OrderStatus `json:"status"`
	TicketID  string             `json:"ticketId"`
	ExpiresAt time.Time          `json:"expiresAt"` // orders' clock
	Version   int64              `json:"version"`
}

// OrderReplica is one replica's copy of an order.
type OrderReplica struct {
	// Store is the service keeping the replica ("payments").
	Store     string             `json:"store"`
	Instance  string             `json:"instance"`
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Price     float64            `json:"price"`
	Status    common.OrderStatus `json:"status"`
	ExpiresAt time.Time          `json:"expiresAt"`
	Version   int64              `json:"version"`
}

// Payment is the payments service's record of a gateway charge.
type Payment struct {
	ID        string    `json:"id"`
	OrderID   string    `json:"orderId"`
	StripeID  string    `json:"stripeId"` // the gateway's charge id
	CreatedAt time.Time `json:"createdAt"`
}

// Refund states of PaymentRefund.
const (
	RefundPending = "pending"
	RefundDone    = "done"
)

// PaymentRefund is a refund payments owes (pending) or did (done).
type PaymentRefund struct {
	PaymentID string `json:"paymentId"`
	OrderID   string `json:"orderId"`
	StripeID  string `json:"stripeId"`
	State     string `json:"state"`
	RefundID  string `json:"refundId,omitempty"`
}

// Job states (expiration.StateWaiting, expiration.StateDone).
const (
	JobWaiting = "waiting"
	JobDone    = "done"
)

// Job is one delayed expiration job.
type Job struct {
	ID      string    `json:"id"`
	OrderID string    `json:"orderId"`
	Due     time.Time `json:"due"`   // the order's expiresAt
	State   string    `json:"state"` // waiting or done
	// CreatedAt and DoneAt are on the expiration service's clock (DoneAt
	// zero while waiting).
	CreatedAt time.Time `json:"createdAt"`
	DoneAt    time.Time `json:"doneAt,omitzero"`
}

// Charge is one charge the fake gateway took.
type Charge struct {
	ID       string `json:"id"`
	OrderID  string `json:"orderId"`
	Amount   int64  `json:"amount"` // cents
	Currency string `json:"currency"`
	Source   string `json:"source"`
	// IdempotencyKey is "" when the caller sent none (faithful mode).
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// TimedOut: the caller was answered 504 although charged.
	TimedOut  bool      `json:"timedOut,omitempty"`
	Refunded  bool      `json:"refunded,omitempty"`
	RefundID  string    `json:"refundId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Write is one row of a store's write log: a versioned record after a
// write.
type Write struct {
	Store    string `json:"store"`
	Instance string `json:"instance"`
	Seq      int64  `json:"seq"`
	// Entity is common.EntityTicket, EntityTicketReplica, EntityOrder or
	// EntityOrderReplica.
	Entity  string          `json:"entity"`
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Data    json.RawMessage `json:"data"`
	Cause   string          `json:"cause"` // route or subject
	At      time.Time       `json:"at"`    // the store's service clock
}

// Decode reads a snapshot saved as JSON.
func Decode(raw []byte) (Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		return Snapshot{}, fmt.Errorf("ticketsale snapshot: %w", err)
	}
	return s, nil
}

// Ticket returns the master record of a ticket, or false.
func (s *Snapshot) Ticket(id string) (Ticket, bool) {
	for _, t := range s.Tickets {
		if t.ID == id {
			return t, true
		}
	}
	return Ticket{}, false
}

// Order returns the master record of an order, or false.
func (s *Snapshot) Order(id string) (Order, bool) {
	for _, o := range s.Orders {
		if o.ID == id {
			return o, true
		}
	}
	return Order{}, false
}

// WritesOf returns the write log of one record in one store, in commit
// order.
func (s *Snapshot) WritesOf(store, entity, id string) []Write {
	var out []Write
	for _, w := range s.Writes {
		if w.Store == store && w.Entity == entity && w.ID == id {
			out = append(out, w)
		}
	}
	return out
}
