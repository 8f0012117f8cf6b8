package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
)

// Endpoints are the base URLs of each service's instances, by service
// name, e.g. {"orders": ["http://127.0.0.1:21103", …]}.
type Endpoints map[string][]string

// Validate reports a service the workload needs without an instance.
func (e Endpoints) Validate() error {
	var errs []error
	for _, s := range []string{common.ServiceAuth, common.ServiceTickets, common.ServiceOrders, common.ServicePayments} {
		if len(e[s]) == 0 || e[s][0] == "" {
			errs = append(errs, fmt.Errorf("endpoints: no %s instance", s))
		}
	}
	return errors.Join(errs...)
}

// Client calls ticketsale's routes.
type Client struct {
	endpoints Endpoints
	http      *http.Client

	mu   sync.Mutex
	next map[string]int
}

// New returns a client of endpoints; hc nil uses a client with a 10 s
// timeout per request.
func New(endpoints Endpoints, hc *http.Client) (*Client, error) {
	if err := endpoints.Validate(); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{endpoints: endpoints, http: hc, next: map[string]int{}}, nil
}

// base returns the next instance of service, in turn.
func (c *Client) base(service string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	urls := c.endpoints[service]
	i := c.next[service] % len(urls)
	c.next[service]++
	return strings.TrimRight(urls[i], "/")
}

// User is a signed-up account and its session.
type User struct {
	ID      string       `json:"id"`
	Email   string       `json:"email"`
	Session *http.Cookie `json:"-"`
}

// Reply is what a route answered.
type Reply struct {
	Status int `json:"status"`
	// Message is the course's first error message of a non-2xx answer.
	Message string `json:"message,omitempty"`
}

// OK reports a 2xx answer.
func (r Reply) OK() bool { return r.Status >= 200 && r.Status < 300 }

func (r Reply) String() string {
	if r.Message == "" {
		return fmt.Sprint(r.Status)
	}
	return fmt.Sprintf("%d %s", r.Status, r.Message)
}

// do sends body as JSON to service's route and decodes a 2xx answer into
// into (nil: ignored).
func (c *Client) do(ctx context.Context, service string, u *User, method, path string, body, into any) (Reply, *http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Reply{}, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base(service)+path, r)
	if err != nil {
		return Reply{}, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if u != nil && u.Session != nil {
		req.AddCookie(u.Session)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Reply{}, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Reply{}, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	rep := Reply{Status: resp.StatusCode}
	if !rep.OK() {
		var eb common.ErrorBody
		if json.Unmarshal(data, &eb) == nil && len(eb.Errors) > 0 {
			rep.Message = eb.Errors[0].Message
		} else {
			rep.Message = strings.TrimSpace(string(data))
		}
		return rep, resp, nil
	}
	if into != nil && len(data) > 0 {
		if err := json.Unmarshal(data, into); err != nil {
			return rep, resp, fmt.Errorf("%s %s: answer %d: %w", method, path, resp.StatusCode, err)
		}
	}
	return rep, resp, nil
}

// Signup creates an account (POST /api/users/signup) and keeps its session
// cookie.
func (c *Client) Signup(ctx context.Context, email, password string) (User, Reply, error) {
	var u User
	rep, resp, err := c.do(ctx, common.ServiceAuth, nil, http.MethodPost, "/api/users/signup",
		map[string]string{"email": email, "password": password}, &u)
	if err != nil || !rep.OK() {
		return User{}, rep, err
	}
	return session(u, rep, resp)
}

// Signin opens a session of an existing account (POST /api/users/signin).
func (c *Client) Signin(ctx context.Context, email, password string) (User, Reply, error) {
	var u User
	rep, resp, err := c.do(ctx, common.ServiceAuth, nil, http.MethodPost, "/api/users/signin",
		map[string]string{"email": email, "password": password}, &u)
	if err != nil || !rep.OK() {
		return User{}, rep, err
	}
	return session(u, rep, resp)
}

func session(u User, rep Reply, resp *http.Response) (User, Reply, error) {
	for _, ck := range resp.Cookies() {
		if ck.Name == common.SessionCookie && ck.Value != "" {
			u.Session = &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	if u.Session == nil || u.ID == "" {
		return User{}, rep, errors.New("no session cookie or user id in the answer")
	}
	return u, rep, nil
}

// Ticket is a ticket as the tickets service shows it.
type Ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	OrderID string  `json:"orderId,omitempty"`
	Version int64   `json:"version"`
}

type ticketBody struct {
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

// CreateTicket is POST /api/tickets.
func (c *Client) CreateTicket(ctx context.Context, u User, title string, price float64) (Ticket, Reply, error) {
	var t Ticket
	rep, _, err := c.do(ctx, common.ServiceTickets, &u, http.MethodPost, "/api/tickets", ticketBody{title, price}, &t)
	return t, rep, err
}

// UpdateTicket is PUT /api/tickets/:id.
func (c *Client) UpdateTicket(ctx context.Context, u User, id, title string, price float64) (Ticket, Reply, error) {
	var t Ticket
	rep, _, err := c.do(ctx, common.ServiceTickets, &u, http.MethodPut, "/api/tickets/"+id, ticketBody{title, price}, &t)
	return t, rep, err
}

// Order is an order as the orders service shows it.
type Order struct {
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Status    common.OrderStatus `json:"status"`
	ExpiresAt string             `json:"expiresAt"`
	Ticket    struct {
		ID    string  `json:"id"`
		Price float64 `json:"price"`
	} `json:"ticket"`
	Version int64 `json:"version"`
}

// PlaceOrder is POST /api/orders: 404 while the orders replica has not
// heard of the ticket, 400 when it is reserved.
func (c *Client) PlaceOrder(ctx context.Context, u User, ticketID string) (Order, Reply, error) {
	var o Order
	rep, _, err := c.do(ctx, common.ServiceOrders, &u, http.MethodPost, "/api/orders", map[string]string{"ticketId": ticketID}, &o)
	return o, rep, err
}

// GetOrder is GET /api/orders/:id.
func (c *Client) GetOrder(ctx context.Context, u User, id string) (Order, Reply, error) {
	var o Order
	rep, _, err := c.do(ctx, common.ServiceOrders, &u, http.MethodGet, "/api/orders/"+id, nil, &o)
	return o, rep, err
}

// CancelOrder is DELETE /api/orders/:id (204).
func (c *Client) CancelOrder(ctx context.Context, u User, id string) (Reply, error) {
	rep, _, err := c.do(ctx, common.ServiceOrders, &u, http.MethodDelete, "/api/orders/"+id, nil, nil)
	return rep, err
}

// Payment is the answer of POST /api/payments.
type Payment struct {
	ID string `json:"id"`
}

// Pay is POST /api/payments with a card token: 404 while the payments
// replica has not heard of the order.
func (c *Client) Pay(ctx context.Context, u User, orderID, token string) (Payment, Reply, error) {
	var p Payment
	rep, _, err := c.do(ctx, common.ServicePayments, &u, http.MethodPost, "/api/payments",
		map[string]string{"token": token, "orderId": orderID}, &p)
	return p, rep, err
}

// Retry404 calls fn until it answers something other than 404 or fails,
// pausing poll between tries, until ctx ends or wait has passed; it returns
// the last reply.
func Retry404(ctx context.Context, wait, poll time.Duration, fn func(context.Context) (Reply, error)) (Reply, error) {
	deadline := time.Now().Add(wait)
	for {
		rep, err := fn(ctx)
		if err != nil || rep.Status != http.StatusNotFound || !time.Now().Before(deadline) {
			return rep, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return rep, ctx.Err()
		case <-t.C:
		}
	}
}
