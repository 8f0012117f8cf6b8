package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/workload"
)

// Options bound the probe.
type Options struct {
	// Wait bounds each wait for a replica or the order's completion
	// (default 30 s).
	Wait time.Duration
	// Poll is the pause between two tries (default 100 ms).
	Poll time.Duration
}

// Result is what one probe did.
type Result struct {
	Ticket string        `json:"ticket,omitempty"`
	Order  string        `json:"order,omitempty"`
	Took   time.Duration `json:"took"`
	// Records are its requests, in the workload's shape (Seq -1), so the
	// invariants hold the system to them like to the crowd's.
	Records []workload.Record `json:"records"`
}

type prober struct {
	c   *client.Client
	opt Options
	res Result
}

// record keeps one request's record and turns a transport error or a
// non-2xx answer into an error naming step.
func (p *prober) record(step string, rec workload.Record, rep client.Reply, err error) error {
	rec.Took = time.Since(rec.At)
	rec.Status, rec.Message, rec.Seq = rep.Status, rep.Message, -1
	switch {
	case err != nil:
		rec.Outcome, rec.Message = workload.OutcomeUnknown, err.Error()
	case rep.OK():
		rec.Outcome = workload.OutcomeAccepted
	case rep.Status >= 500:
		rec.Outcome = workload.OutcomeUnknown
	default:
		rec.Outcome = workload.OutcomeRejected
	}
	p.res.Records = append(p.res.Records, rec)
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if !rep.OK() {
		return fmt.Errorf("%s: answered %s", step, rep)
	}
	return nil
}

// Run buys and pays for one ticket through c and waits until the order is
// complete. The error names the step that failed; the result holds the
// requests made so far.
func Run(ctx context.Context, c *client.Client, opt Options) (Result, error) {
	if opt.Wait <= 0 {
		opt.Wait = 30 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = 100 * time.Millisecond
	}
	p := &prober{c: c, opt: opt}
	start := time.Now()
	err := p.run(ctx)
	p.res.Took = time.Since(start)
	return p.res, err
}

func (p *prober) run(ctx context.Context) error {
	c, opt := p.c, p.opt
	tag := nonce()
	var users [2]client.User
	for i, role := range []string{"seller", "buyer"} {
		email := "probe-" + role + "-" + tag + "@ticketsale.test"
		rec := workload.Record{ID: email, Kind: workload.KindSignup, At: time.Now()}
		u, rep, err := c.Signup(ctx, email, "probe-pass")
		rec.User = u.ID
		if err := p.record(role+" signup", rec, rep, err); err != nil {
			return err
		}
		users[i] = u
	}
	seller, buyer := users[0], users[1]
	rec := workload.Record{Kind: workload.KindTicketCreate, At: time.Now(), User: seller.ID, Price: 20}
	tk, rep, err := c.CreateTicket(ctx, seller, "probe "+tag, 20)
	rec.ID, rec.Ticket = tk.ID, tk.ID
	if err := p.record("create ticket", rec, rep, err); err != nil {
		return err
	}
	p.res.Ticket = tk.ID
	var o client.Order
	rec = workload.Record{Kind: workload.KindOrderPlace, User: buyer.ID, Ticket: tk.ID}
	rep, err = client.Retry404(ctx, opt.Wait, opt.Poll, func(ctx context.Context) (client.Reply, error) {
		rec.At = time.Now()
		var rep client.Reply
		var err error
		o, rep, err = c.PlaceOrder(ctx, buyer, tk.ID)
		return rep, err
	})
	rec.ID, rec.Order = o.ID, o.ID
	if err := p.record("order ticket "+tk.ID, rec, rep, err); err != nil {
		return err
	}
	p.res.Order = o.ID
	var pay client.Payment
	rec = workload.Record{Kind: workload.KindPayment, User: buyer.ID, Ticket: tk.ID, Order: o.ID}
	rep, err = client.Retry404(ctx, opt.Wait, opt.Poll, func(ctx context.Context) (client.Reply, error) {
		rec.At = time.Now()
		var rep client.Reply
		var err error
		pay, rep, err = c.Pay(ctx, buyer, o.ID, "tok_visa")
		return rep, err
	})
	rec.ID = pay.ID
	if err := p.record("pay order "+o.ID, rec, rep, err); err != nil {
		return err
	}
	deadline := time.Now().Add(opt.Wait)
	for {
		got, rep, err := c.GetOrder(ctx, buyer, o.ID)
		if err == nil && rep.OK() && got.Status == common.OrderComplete {
			return nil
		}
		if !time.Now().Before(deadline) {
			if err == nil {
				err = fmt.Errorf("answer %s, status %q", rep, got.Status)
			}
			return fmt.Errorf("order %s not complete within %s: %w", o.ID, opt.Wait, err)
		}
		t := time.NewTimer(opt.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("order %s not complete: %w", o.ID, ctx.Err())
		case <-t.C:
		}
	}
}

// nonce makes the probe's accounts unique in the lab.
func nonce() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
