package invariants

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Input is what a checker reads about one run: the services' stores at
// quiescence, the spans, the workload's records, where the broker still
// held messages at the end, the toggles the services ran with and the
// limits to judge by.
type Input struct {
	// Snapshot is nil when no snapshot was taken.
	Snapshot *Snapshot
	// Events are the run's spans, in any order.
	Events []history.Event
	// Records are what the workload did.
	Records []Record
	// Holdings is what the broker still held at the end; nil when not read.
	Holdings *history.Holdings
	// DeadLetters are the messages found in dead-letter queues at the end.
	DeadLetters []history.DeadLetter
	// Toggles are the toggles every service ran with; the zero value
	// reads as common.Fixed().
	Toggles common.Toggles
	Limits  Limits
}

// Limits are the tolerances the checkers judge by.
type Limits struct {
	// Grace is how long past its expiresAt an order may stay open before
	// TS3 judges it (k·ackWait plus the longest injected delay). 0 means
	// DefaultGrace.
	Grace time.Duration
	// SkewTolerance is how much earlier than expiresAt an expiration may
	// fire (TS12). 0 means DefaultSkewTolerance.
	SkewTolerance time.Duration
	// MaxHandlings is how often one service may handle one message
	// (TS10). 0 means DefaultMaxHandlings.
	MaxHandlings int
}

// Defaults of Limits.
const (
	DefaultGrace         = 30 * time.Second
	DefaultSkewTolerance = 2 * time.Second
	DefaultMaxHandlings  = 10
)

func (l Limits) grace() time.Duration {
	if l.Grace <= 0 {
		return DefaultGrace
	}
	return l.Grace
}

func (l Limits) skewTolerance() time.Duration {
	if l.SkewTolerance <= 0 {
		return DefaultSkewTolerance
	}
	return l.SkewTolerance
}

func (l Limits) maxHandlings() int {
	if l.MaxHandlings <= 0 {
		return DefaultMaxHandlings
	}
	return l.MaxHandlings
}

// toggles returns the run's toggles, common.Fixed() for the zero value.
func (in Input) toggles() common.Toggles {
	if in.Toggles.Version == "" {
		return common.Fixed()
	}
	return in.Toggles
}

// Record is one thing the workload did: an id (ticket or order id), a
// kind, when, its outcome and kind-specific attributes.
type Record struct {
	ID      string            `json:"id"`
	Kind    string            `json:"kind"`
	At      time.Time         `json:"at"`
	Outcome string            `json:"outcome"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

// Record kinds and outcomes the checkers read.
const (
	// KindTicketUpdate is a PUT /api/tickets/:id; Attrs["price"] is the
	// price it asked for.
	KindTicketUpdate = "ticket-update"
	OutcomeAccepted  = "accepted"
)

// Snapshot is ticketsale's state at quiescence as the checkers read it:
// every master and replica table with its version, the payments, refunds,
// gateway charges, expiration jobs and every store's write log.
type Snapshot struct {
	At time.Time `json:"at"`
	// Tickets are the tickets service's masters.
	Tickets []Ticket `json:"tickets"`
	// TicketReplicas are the orders service's replicas, per store.
	TicketReplicas []TicketReplica `json:"ticketReplicas"`
	// Orders are the orders service's masters.
	Orders []Order `json:"orders"`
	// OrderReplicas are the payments service's replicas, per store.
	OrderReplicas []OrderReplica `json:"orderReplicas"`
	Payments      []Payment      `json:"payments"`
	// Refunds are the refunds payments owes or made (fixed paymentGuards).
	Refunds []Refund `json:"refunds"`
	// Charges are the gateway's charges.
	Charges []Charge `json:"charges"`
	// Jobs are the expiration service's delayed jobs.
	Jobs []Job `json:"jobs"`
	// Writes are every store's write log (common.Writes), each in commit
	// order; nil when not read.
	Writes []Write `json:"writes"`
}

// Ticket is a ticket master; OrderID is the reserving order ("" = free).
type Ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	OrderID string  `json:"orderId,omitempty"`
	Version int64   `json:"version"`
}

// TicketReplica is orders' replica of a ticket in one store.
type TicketReplica struct {
	Store   string  `json:"store"`
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	Version int64   `json:"version"`
}

// Order is an order master.
type Order struct {
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Status    common.OrderStatus `json:"status"`
	ExpiresAt time.Time          `json:"expiresAt"`
	TicketID  string             `json:"ticketId"`
	Version   int64              `json:"version"`
}

// OrderReplica is payments' replica of an order in one store.
type OrderReplica struct {
	Store   string             `json:"store"`
	ID      string             `json:"id"`
	Status  common.OrderStatus `json:"status"`
	Price   float64            `json:"price"`
	Version int64              `json:"version"`
}

// Payment links an order to its gateway charge (payments' table).
type Payment struct {
	ID       string `json:"id"`
	OrderID  string `json:"orderId"`
	StripeID string `json:"stripeId"`
}

// Refund is a refund payments owes (State pending) or made (done).
type Refund struct {
	PaymentID string `json:"paymentId"`
	OrderID   string `json:"orderId"`
	StripeID  string `json:"stripeId"`
	State     string `json:"state"`
}

// Refund states.
const (
	RefundPending = "pending"
	RefundDone    = "done"
)

// Charge is one charge the gateway took.
type Charge struct {
	ID             string `json:"id"`
	OrderID        string `json:"orderId"`
	Amount         int64  `json:"amount"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	TimedOut       bool   `json:"timedOut,omitempty"`
	Refunded       bool   `json:"refunded,omitempty"`
}

// Job is one expiration job.
type Job struct {
	ID      string    `json:"id"`
	OrderID string    `json:"orderId"`
	Due     time.Time `json:"due"`
	State   string    `json:"state"` // waiting | done
}

// JobDone is the state of a job that ran.
const JobDone = "done"

// Write is one write-log row of one store ("tickets", "orders-2", …).
type Write struct {
	Store string `json:"store"`
	common.Write
}

// writeData is what the checkers read of a write's record: tickets'
// orderId and price, orders' status and ticket.
type writeData struct {
	Title   string             `json:"title"`
	Price   float64            `json:"price"`
	OrderID string             `json:"orderId"`
	Status  common.OrderStatus `json:"status"`
	Ticket  struct {
		ID string `json:"id"`
	} `json:"ticket"`
}

func (w Write) data() writeData {
	var d writeData
	_ = json.Unmarshal(w.Data, &d)
	return d
}

// writesOf returns the writes of entity, in each store's commit order.
func (s *Snapshot) writesOf(entity string) []Write {
	var out []Write
	for _, w := range s.Writes {
		if w.Entity == entity {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b Write) int {
		if a.Store != b.Store {
			if a.Store < b.Store {
				return -1
			}
			return 1
		}
		return int(a.Seq - b.Seq)
	})
	return out
}

// held tells where a missing effect is: Stuck when the broker still held
// a message whose id or aggregate id is one of ids (with that queue),
// PossiblyStuck when some queue held messages the runner did not read or
// that were unacked, else Lost. Without holdings nothing can be called
// lost: PossiblyStuck.
func (in Input) held(ids ...string) (check.Category, string) {
	if in.Holdings == nil {
		return check.PossiblyStuck, ""
	}
	unread := ""
	for _, q := range in.Holdings.Queues {
		for _, m := range q.Messages {
			if slices.Contains(ids, m.MessageID) || m.AggregateID != "" && slices.Contains(ids, m.AggregateID) {
				return check.Stuck, q.Queue
			}
		}
		if q.NotRead > 0 || q.Unacked > 0 {
			unread = q.Queue
		}
	}
	if unread != "" {
		return check.PossiblyStuck, unread
	}
	return check.Lost, ""
}

// heldOr is held for a finding that is not a claim of loss: def unless
// the broker is known to (possibly) hold a message of ids.
func (in Input) heldOr(def check.Category, ids ...string) (check.Category, string) {
	if in.Holdings == nil {
		return def, ""
	}
	cat, queue := in.held(ids...)
	if cat == check.Lost {
		return def, ""
	}
	return cat, queue
}

// deadLettered reports whether service's dead-letter queue held message id.
func (in Input) deadLettered(service, id string) bool {
	return slices.ContainsFunc(in.DeadLetters, func(d history.DeadLetter) bool {
		return d.MessageID == id && (service == "" || d.Service == service)
	})
}

// tracesOf returns the trace ids of the spans about aggregate id (up to 3).
func (in Input) tracesOf(id string) []string {
	var out []string
	for i := range in.Events {
		e := &in.Events[i]
		if e.AggregateID != id || e.TraceID.IsZero() {
			continue
		}
		t := e.TraceID.String()
		if !slices.Contains(out, t) {
			out = append(out, t)
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}
