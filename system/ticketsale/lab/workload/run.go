package workload

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
)

// Record kinds: one per route the crowd calls.
const (
	KindSignup       = "signup"        // POST /api/users/signup (or signin)
	KindTicketCreate = "ticket.create" // POST /api/tickets
	KindTicketUpdate = "ticket.update" // PUT /api/tickets/:id
	KindOrderPlace   = "order.place"   // POST /api/orders
	KindOrderCancel  = "order.cancel"  // DELETE /api/orders/:id
	KindPayment      = "payment"       // POST /api/payments
)

// Outcomes of a record.
const (
	// OutcomeAccepted is a 2xx: the lab holds the system to it.
	OutcomeAccepted = "accepted"
	// OutcomeRejected is a 4xx: the system said no, nothing should change.
	OutcomeRejected = "rejected"
	// OutcomeUnknown is a transport error or a 5xx: it may have happened.
	OutcomeUnknown = "unknown"
)

// Record is one request the crowd made.
type Record struct {
	// ID is what the request is about: the ticket, order or payment id
	// (the account's e-mail for a signup); "" when a create failed.
	ID      string        `json:"id,omitempty"`
	Kind    string        `json:"kind"`
	At      time.Time     `json:"at"`
	Took    time.Duration `json:"took"`
	Outcome string        `json:"outcome"`
	Status  int           `json:"status,omitempty"`
	Message string        `json:"message,omitempty"`
	// Seq is the lifecycle's ticket in the plan (-1 for a signup).
	Seq    int    `json:"seq"`
	User   string `json:"user,omitempty"` // the account's id
	Ticket string `json:"ticket,omitempty"`
	Order  string `json:"order,omitempty"`
	// Price is the price a create or update asked for.
	Price float64 `json:"price,omitempty"`
}

// Options are Run's runtime knobs.
type Options struct {
	// Poll is the pause between two tries of an order or payment answered
	// 404 (default 100 ms).
	Poll time.Duration
	// Progress, when set, is called every ProgressEvery (default 1 s) and
	// once at the end, from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
	Log           *slog.Logger // nil = discard
}

// Progress is the state of a run.
type Progress struct {
	Phase    string        `json:"phase"` // signup, run, done
	Elapsed  time.Duration `json:"elapsed"`
	Planned  int           `json:"planned"` // lifecycles
	Started  int           `json:"started"`
	Done     int           `json:"done"`
	InFlight int           `json:"inFlight"`
	Accepted int           `json:"accepted"` // requests
	Rejected int           `json:"rejected"`
	Unknown  int           `json:"unknown"`
	Paid     int           `json:"paid"` // payments accepted
}

// Result is what a run did.
type Result struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Records []Record  `json:"records"`
	Summary Summary   `json:"summary"`
}

type runner struct {
	c    *client.Client
	plan *Plan
	opt  Options

	sellers, buyers []*client.User

	mu      sync.Mutex
	records []Record

	started, done, inFlight, accepted, rejected, unknown, paid atomic.Int64
	phase                                                      atomic.Value
}

// Run plays plan against the system behind c: every account signs up,
// then each ticket's lifecycle starts at its offset, at most MaxInFlight at
// once. It returns when every lifecycle ended or ctx did; the result holds
// every request made so far.
func Run(ctx context.Context, c *client.Client, plan *Plan, opt Options) (*Result, error) {
	if plan == nil {
		return nil, errNoPlan
	}
	if opt.Poll <= 0 {
		opt.Poll = 100 * time.Millisecond
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	r := &runner{c: c, plan: plan, opt: opt}
	r.phase.Store("signup")
	res := &Result{Start: time.Now()}
	stopProgress := r.progress(res.Start)
	err := r.signups(ctx)
	if err == nil {
		r.phase.Store("run")
		err = r.lifecycles(ctx, res.Start)
	}
	r.phase.Store("done")
	stopProgress()
	res.End = time.Now()
	r.mu.Lock()
	res.Records = slices.Clone(r.records)
	r.mu.Unlock()
	slices.SortStableFunc(res.Records, func(a, b Record) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq)) })
	res.Summary = Summarize(plan, res)
	return res, err
}

func (r *runner) snapshot(start time.Time) Progress {
	return Progress{Phase: r.phase.Load().(string), Elapsed: time.Since(start), Planned: len(r.plan.Tickets),
		Started: int(r.started.Load()), Done: int(r.done.Load()), InFlight: int(r.inFlight.Load()),
		Accepted: int(r.accepted.Load()), Rejected: int(r.rejected.Load()), Unknown: int(r.unknown.Load()), Paid: int(r.paid.Load())}
}

// progress reports every ProgressEvery until the returned stop, which
// reports once more.
func (r *runner) progress(start time.Time) (stop func()) {
	if r.opt.Progress == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(r.opt.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				r.opt.Progress(r.snapshot(start))
				return
			case <-t.C:
				r.opt.Progress(r.snapshot(start))
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// record keeps one request's record.
func (r *runner) record(rec Record, rep client.Reply, err error) Record {
	rec.Took = time.Since(rec.At)
	rec.Status, rec.Message = rep.Status, rep.Message
	switch {
	case err != nil:
		rec.Outcome, rec.Message = OutcomeUnknown, err.Error()
		r.unknown.Add(1)
		r.opt.Log.Warn("Request outcome unknown", "kind", rec.Kind, "ticket", rec.Ticket, "order", rec.Order, "err", err)
	case rep.OK():
		rec.Outcome = OutcomeAccepted
		r.accepted.Add(1)
	case rep.Status >= 500:
		rec.Outcome = OutcomeUnknown
		r.unknown.Add(1)
		r.opt.Log.Warn("Request answered 5xx", "kind", rec.Kind, "ticket", rec.Ticket, "order", rec.Order, "status", rep.Status, "message", rep.Message)
	default:
		rec.Outcome = OutcomeRejected
		r.rejected.Add(1)
	}
	if rec.Kind == KindPayment && rec.Outcome == OutcomeAccepted {
		r.paid.Add(1)
	}
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
	return rec
}

// signups signs every planned account up (or in, when it exists from an
// earlier run), MaxInFlight at once.
func (r *runner) signups(ctx context.Context) error {
	r.sellers = make([]*client.User, len(r.plan.Sellers))
	r.buyers = make([]*client.User, len(r.plan.Buyers))
	sem := make(chan struct{}, r.plan.Config.MaxInFlight)
	var wg sync.WaitGroup
	one := func(email string, into **client.User) {
		defer wg.Done()
		defer func() { <-sem }()
		rec := Record{ID: email, Kind: KindSignup, At: time.Now(), Seq: -1}
		u, rep, err := r.c.Signup(ctx, email, Password)
		if err == nil && rep.Status == http.StatusBadRequest && rep.Message == "Email in use" {
			u, rep, err = r.c.Signin(ctx, email, Password)
		}
		rec.User = u.ID
		if r.record(rec, rep, err).Outcome == OutcomeAccepted {
			*into = &u
		}
	}
	for i, e := range r.plan.Sellers {
		sem <- struct{}{}
		wg.Add(1)
		go one(e, &r.sellers[i])
	}
	for i, e := range r.plan.Buyers {
		sem <- struct{}{}
		wg.Add(1)
		go one(e, &r.buyers[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, u := range r.sellers {
		if u == nil {
			return fmt.Errorf("workload: seller %s could not sign up", r.plan.Sellers[i])
		}
	}
	return nil
}

// sleep pauses d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *runner) lifecycles(ctx context.Context, start time.Time) error {
	sem := make(chan struct{}, r.plan.Config.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, t := range r.plan.Tickets {
		if err := sleep(ctx, time.Until(start.Add(t.At))); err != nil {
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.started.Add(1)
		r.inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem; r.inFlight.Add(-1); r.done.Add(1) }()
			r.lifecycle(ctx, t)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// lifecycle lists a ticket, reprices it, has its buyers race to order it
// and acts on every accepted order.
func (r *runner) lifecycle(ctx context.Context, t Ticket) {
	seller := *r.sellers[t.Seller]
	rec := Record{Kind: KindTicketCreate, At: time.Now(), Seq: t.Seq, User: seller.ID, Price: t.Prices[0]}
	tk, rep, err := r.c.CreateTicket(ctx, seller, t.Title, t.Prices[0])
	rec.ID, rec.Ticket = tk.ID, tk.ID
	if r.record(rec, rep, err).Outcome != OutcomeAccepted {
		return
	}
	pauses := t.Pauses
	next := func() time.Duration {
		if len(pauses) == 0 {
			return 0
		}
		d := pauses[0]
		pauses = pauses[1:]
		return d
	}
	for _, price := range t.Prices[1:] {
		if sleep(ctx, next()) != nil {
			return
		}
		rec := Record{ID: tk.ID, Kind: KindTicketUpdate, At: time.Now(), Seq: t.Seq, User: seller.ID, Ticket: tk.ID, Price: price}
		_, rep, err := r.c.UpdateTicket(ctx, seller, tk.ID, t.Title, price)
		r.record(rec, rep, err)
	}
	if len(t.Buyers) == 0 || sleep(ctx, next()) != nil {
		return
	}
	orders := r.race(ctx, t, tk.ID)
	if len(orders) == 0 || sleep(ctx, next()) != nil {
		return
	}
	var wg sync.WaitGroup
	for _, o := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.act(ctx, t, o.user, o.order)
		}()
	}
	wg.Wait()
}

type placed struct {
	user  client.User
	order client.Order
}

// race has the ticket's buyers order it at the same moment, in rounds,
// until a round gets an answer other than 404 (the orders replica has the
// ticket) or ReplicaWait has passed; it returns the accepted orders.
func (r *runner) race(ctx context.Context, t Ticket, ticketID string) []placed {
	var buyers []client.User
	for _, b := range t.Buyers {
		if u := r.buyers[b]; u != nil {
			buyers = append(buyers, *u)
		}
	}
	if len(buyers) == 0 {
		return nil
	}
	deadline := time.Now().Add(time.Duration(r.plan.Config.ReplicaWait))
	for {
		type answer struct {
			rec   Record
			rep   client.Reply
			err   error
			order client.Order
		}
		answers := make([]answer, len(buyers))
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i, u := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				a := &answers[i]
				a.rec = Record{Kind: KindOrderPlace, At: time.Now(), Seq: t.Seq, User: u.ID, Ticket: ticketID}
				a.order, a.rep, a.err = r.c.PlaceOrder(ctx, u, ticketID)
			}()
		}
		close(gate)
		wg.Wait()
		all404 := true
		for _, a := range answers {
			if a.err != nil || a.rep.Status != http.StatusNotFound {
				all404 = false
			}
		}
		if all404 && time.Now().Before(deadline) {
			if sleep(ctx, r.opt.Poll) != nil {
				return nil
			}
			continue
		}
		var out []placed
		for i, a := range answers {
			a.rec.ID, a.rec.Order = a.order.ID, a.order.ID
			if r.record(a.rec, a.rep, a.err).Outcome == OutcomeAccepted {
				out = append(out, placed{user: buyers[i], order: a.order})
			}
		}
		return out
	}
}

// act does the planned action with one accepted order.
func (r *runner) act(ctx context.Context, t Ticket, u client.User, o client.Order) {
	switch t.Action {
	case ActionCancel:
		rec := Record{ID: o.ID, Kind: KindOrderCancel, At: time.Now(), Seq: t.Seq, User: u.ID, Ticket: o.Ticket.ID, Order: o.ID}
		rep, err := r.c.CancelOrder(ctx, u, o.ID)
		r.record(rec, rep, err)
	case ActionPay:
		n := 1
		if t.DoublePay {
			n = 2
		}
		var wg sync.WaitGroup
		var paid atomic.Bool
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r.pay(ctx, t, u, o) {
					paid.Store(true)
				}
			}()
		}
		wg.Wait()
		if t.CancelPaid && paid.Load() && r.awaitStatus(ctx, u, o.ID, common.OrderComplete) {
			rec := Record{ID: o.ID, Kind: KindOrderCancel, At: time.Now(), Seq: t.Seq, User: u.ID, Ticket: o.Ticket.ID, Order: o.ID}
			rep, err := r.c.CancelOrder(ctx, u, o.ID)
			r.record(rec, rep, err)
		}
	}
}

// pay pays an order, retrying 404 while the payments replica catches up,
// and reports whether the payment was accepted.
func (r *runner) pay(ctx context.Context, t Ticket, u client.User, o client.Order) bool {
	rec := Record{Kind: KindPayment, Seq: t.Seq, User: u.ID, Ticket: o.Ticket.ID, Order: o.ID}
	var p client.Payment
	rep, err := client.Retry404(ctx, time.Duration(r.plan.Config.ReplicaWait), r.opt.Poll, func(ctx context.Context) (client.Reply, error) {
		rec.At = time.Now()
		var rep client.Reply
		var err error
		p, rep, err = r.c.Pay(ctx, u, o.ID, "tok_visa")
		return rep, err
	})
	rec.ID = p.ID
	return r.record(rec, rep, err).Outcome == OutcomeAccepted
}

// awaitStatus polls the order until it shows want, for at most
// ReplicaWait.
func (r *runner) awaitStatus(ctx context.Context, u client.User, id string, want common.OrderStatus) bool {
	deadline := time.Now().Add(time.Duration(r.plan.Config.ReplicaWait))
	for {
		o, rep, err := r.c.GetOrder(ctx, u, id)
		if err == nil && rep.OK() && o.Status == want {
			return true
		}
		if !time.Now().Before(deadline) || sleep(ctx, r.opt.Poll) != nil {
			return false
		}
	}
}
