package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client calls the gateway over HTTP (payments' Stripe client).
type Client struct {
	// BaseURL is e.g. http://127.0.0.1:3105.
	BaseURL string
	// HTTP is the client used; nil means one with a 10 s timeout.
	HTTP *http.Client
}

// Error is a gateway answer other than success.
type Error struct {
	Status int
	APIError
}

func (e *Error) Error() string {
	return fmt.Sprintf("gateway %d %s/%s: %s", e.Status, e.Type, e.Code, e.Message)
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (c *Client) post(ctx context.Context, path, key string, body, into any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("gateway %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("gateway %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb ErrorBody
		_ = json.Unmarshal(data, &eb)
		return &Error{Status: resp.StatusCode, APIError: eb.Error}
	}
	return json.Unmarshal(data, into)
}

// Charge asks for a charge; key "" sends no idempotency key.
func (c *Client) Charge(ctx context.Context, req ChargeRequest, key string) (Charge, error) {
	var ch Charge
	err := c.post(ctx, "/v1/charges", key, req, &ch)
	return ch, err
}

// Refund refunds a charge.
func (c *Client) Refund(ctx context.Context, chargeID string) (Refund, error) {
	var r Refund
	err := c.post(ctx, "/v1/refunds", "", RefundRequest{Charge: chargeID}, &r)
	return r, err
}

// Charges lists the gateway's charges ("" = all orders).
func (c *Client) Charges(ctx context.Context, orderID string) ([]Charge, error) {
	u := c.BaseURL + "/v1/charges"
	if orderID != "" {
		u += "?orderId=" + orderID
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway charges: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gateway charges: status %d", resp.StatusCode)
	}
	var cs []Charge
	return cs, json.NewDecoder(resp.Body).Decode(&cs)
}
