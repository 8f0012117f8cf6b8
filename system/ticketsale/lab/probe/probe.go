package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/client"
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
}

// Run buys and pays for one ticket through c and waits until the order is
// complete. The error names the step that failed.
func Run(ctx context.Context, c *client.Client, opt Options) (Result, error) {
	if opt.Wait <= 0 {
		opt.Wait = 30 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = 100 * time.Millisecond
	}
	start := time.Now()
	var res Result
	tag := nonce()
	seller, rep, err := c.Signup(ctx, "probe-seller-"+tag+"@ticketsale.test", "probe-pass")
	if err := failed("seller signup", rep, err); err != nil {
		return res, err
	}
	buyer, rep, err := c.Signup(ctx, "probe-buyer-"+tag+"@ticketsale.test", "probe-pass")
	if err := failed("buyer signup", rep, err); err != nil {
		return res, err
	}
	tk, rep, err := c.CreateTicket(ctx, seller, "probe "+tag, 20)
	if err := failed("create ticket", rep, err); err != nil {
		return res, err
	}
	res.Ticket = tk.ID
	var o client.Order
	rep, err = client.Retry404(ctx, opt.Wait, opt.Poll, func(ctx context.Context) (client.Reply, error) {
		var rep client.Reply
		var err error
		o, rep, err = c.PlaceOrder(ctx, buyer, tk.ID)
		return rep, err
	})
	if err := failed("order ticket "+tk.ID, rep, err); err != nil {
		return res, err
	}
	res.Order = o.ID
	rep, err = client.Retry404(ctx, opt.Wait, opt.Poll, func(ctx context.Context) (client.Reply, error) {
		_, rep, err := c.Pay(ctx, buyer, o.ID, "tok_visa")
		return rep, err
	})
	if err := failed("pay order "+o.ID, rep, err); err != nil {
		return res, err
	}
	deadline := time.Now().Add(opt.Wait)
	for {
		got, rep, err := c.GetOrder(ctx, buyer, o.ID)
		if err == nil && rep.OK() && got.Status == common.OrderComplete {
			res.Took = time.Since(start)
			return res, nil
		}
		if !time.Now().Before(deadline) {
			if err == nil {
				err = fmt.Errorf("answer %s, status %q", rep, got.Status)
			}
			return res, fmt.Errorf("order %s not complete within %s: %w", o.ID, opt.Wait, err)
		}
		t := time.NewTimer(opt.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("order %s not complete: %w", o.ID, ctx.Err())
		case <-t.C:
		}
	}
}

// failed turns a transport error or a non-2xx answer of step into an
// error.
func failed(step string, rep client.Reply, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if !rep.OK() {
		return fmt.Errorf("%s: answered %s", step, rep)
	}
	return nil
}

// nonce makes the probe's accounts unique in the lab.
func nonce() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
