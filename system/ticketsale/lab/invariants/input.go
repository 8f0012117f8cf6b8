package invariants

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/check"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/snapshot"
)

// Input is what a checker reads about one run: the services' stores at
// quiescence, the spans, the workload's records, where the broker still
// held messages at the end, the toggles the services ran with and the
// limits to judge by.
type Input struct {
	// Snapshot is nil when no snapshot was taken.
	Snapshot *Snapshot
	// At is when the snapshot was taken.
	At time.Time
	// Events are the run's spans, in any order.
	Events []history.Event
	// Records are what the workload and the probe asked of the system.
	Records []history.Record
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

// The snapshot types the checkers read are ticketsale's snapshot
// (system/ticketsale/lab/snapshot).
type (
	Snapshot      = snapshot.Snapshot
	Ticket        = snapshot.Ticket
	TicketReplica = snapshot.TicketReplica
	Order         = snapshot.Order
	OrderReplica  = snapshot.OrderReplica
	Payment       = snapshot.Payment
	PaymentRefund = snapshot.PaymentRefund
	Charge        = snapshot.Charge
	Job           = snapshot.Job
	Write         = snapshot.Write
)

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

func dataOf(w Write) writeData {
	var d writeData
	_ = json.Unmarshal(w.Data, &d)
	return d
}

// writesOf returns the writes of entity, in each store's commit order.
func writesOf(s *Snapshot, entity string) []Write {
	var out []Write
	for _, w := range s.Writes {
		if w.Entity == entity {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b Write) int {
		return cmp.Or(cmp.Compare(a.Store, b.Store), cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Seq, b.Seq))
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
