package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Actions a buyer takes with an order.
const (
	ActionPay    = "pay"    // pay it
	ActionCancel = "cancel" // cancel it unpaid
	ActionExpire = "expire" // leave it to expire
)

// Password is every planned account's password.
const Password = "tflab-pass"

// Plan is everything the crowd will do, drawn up front from the seeded
// source so that concurrency cannot change a run's choices: the same
// Config and seed always give the same plan.
type Plan struct {
	Config  Config   `json:"config"`
	Seed    int64    `json:"seed"`
	Sellers []string `json:"sellers"` // e-mails
	Buyers  []string `json:"buyers"`  // e-mails
	Tickets []Ticket `json:"tickets"`
}

// Ticket is one ticket's planned lifecycle.
type Ticket struct {
	Seq    int           `json:"seq"`
	At     time.Duration `json:"at"`     // start offset (Seq/Rate)
	Seller int           `json:"seller"` // index into Plan.Sellers
	Title  string        `json:"title"`
	// Prices are the created price, then each update in turn.
	Prices []float64 `json:"prices"`
	// Buyers are the buyers ordering it at once (indexes into Plan.Buyers);
	// none: it is not ordered.
	Buyers []int `json:"buyers,omitempty"`
	// Action is what each buyer whose order was accepted does with it.
	Action string `json:"action,omitempty"`
	// DoublePay: the payment is sent twice at once.
	DoublePay bool `json:"doublePay,omitempty"`
	// CancelPaid: once complete, the buyer cancels the order.
	CancelPaid bool `json:"cancelPaid,omitempty"`
	// Pauses are the think times before each step: one per update, then
	// one before ordering and one before the action.
	Pauses []time.Duration `json:"pauses,omitempty"`
}

var titles = []string{"concert", "opera", "match", "festival", "play", "ballet", "recital", "comedy night", "jazz club", "cinema premiere"}

// NewPlan draws the whole workload of cfg (defaults applied, validated)
// from seed.
func NewPlan(cfg Config, seed int64) (*Plan, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7469636b657473)) // "tickets"
	p := &Plan{Config: cfg, Seed: seed}
	// Addresses carry the seed, so a second load on the same lab with
	// another seed signs up new accounts.
	for i := range cfg.Sellers {
		p.Sellers = append(p.Sellers, fmt.Sprintf("seller-%d-%d@ticketsale.test", seed, i+1))
	}
	for i := range cfg.Users {
		p.Buyers = append(p.Buyers, fmt.Sprintf("buyer-%d-%d@ticketsale.test", seed, i+1))
	}
	orderShare, pay, cancel := *cfg.OrderShare, *cfg.PayShare, *cfg.CancelShare
	think := time.Duration(cfg.Think)
	pause := func() time.Duration {
		if think <= 0 {
			return 0
		}
		return time.Duration(rng.Int64N(int64(think)))
	}
	for i := range cfg.Tickets {
		t := Ticket{Seq: i, At: time.Duration(float64(i) / cfg.Rate * float64(time.Second)), Seller: rng.IntN(cfg.Sellers)}
		t.Title = fmt.Sprintf("%s #%d", titles[rng.IntN(len(titles))], i+1)
		if len(cfg.Prices) > 0 {
			t.Prices = append([]float64(nil), cfg.Prices...)
		} else {
			t.Prices = append(t.Prices, drawPrice(rng))
			for range *cfg.PriceUpdates {
				t.Prices = append(t.Prices, drawPrice(rng))
			}
		}
		for range len(t.Prices) - 1 {
			t.Pauses = append(t.Pauses, pause())
		}
		if rng.Float64() < orderShare {
			// Racers distinct buyers.
			for _, b := range rng.Perm(cfg.Users)[:cfg.Racers] {
				t.Buyers = append(t.Buyers, b)
			}
			switch u := rng.Float64(); {
			case u < pay:
				t.Action = ActionPay
				t.DoublePay = rng.Float64() < *cfg.DoublePayShare
				t.CancelPaid = rng.Float64() < *cfg.CancelPaidShare
			case u < pay+cancel:
				t.Action = ActionCancel
			default:
				t.Action = ActionExpire
			}
			t.Pauses = append(t.Pauses, pause(), pause())
		}
		p.Tickets = append(p.Tickets, t)
	}
	return p, nil
}

// drawPrice is a price between 5 and 200 in steps of 0.5.
func drawPrice(rng *rand.Rand) float64 { return 5 + float64(rng.IntN(391))/2 }

// Counts summarises a plan.
type Counts struct {
	Tickets, Updates, Ordered, Orders, Pay, Cancel, Expire, DoublePay, CancelPaid int
}

// Counts counts what the plan will do.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, t := range p.Tickets {
		c.Tickets++
		c.Updates += len(t.Prices) - 1
		if len(t.Buyers) == 0 {
			continue
		}
		c.Ordered++
		c.Orders += len(t.Buyers)
		switch t.Action {
		case ActionPay:
			c.Pay++
		case ActionCancel:
			c.Cancel++
		case ActionExpire:
			c.Expire++
		}
		if t.DoublePay {
			c.DoublePay++
		}
		if t.CancelPaid {
			c.CancelPaid++
		}
	}
	return c
}

// Duration is how long starting every lifecycle takes at the plan's rate.
func (p *Plan) Duration() time.Duration {
	if len(p.Tickets) == 0 {
		return 0
	}
	return p.Tickets[len(p.Tickets)-1].At
}

// errNoPlan reports a Run without a plan.
var errNoPlan = errors.New("workload: no plan")
