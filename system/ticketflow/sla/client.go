package sla

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// ErrRejected marks a message Communication refused (4xx): retrying the same
// request cannot succeed.
var ErrRejected = errors.New("communication rejected the message")

// MessageClient posts agent messages to Communication's POST /messages (the
// original's CommunicationsClient). Safe for concurrent use.
type MessageClient struct {
	BaseURL string // e.g. http://127.0.0.1:5148
	HTTP    *http.Client
}

// Send posts m. A 2xx answer is success (also when the idempotency key was
// already stored); a 4xx wraps ErrRejected; anything else is transient. The
// trace context of ctx goes along as traceparent, so Communication's command
// span joins the caller's trace.
func (c *MessageClient) Send(ctx context.Context, m AgentMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/messages", bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("post message %s: %w", m.IdempotencyKey, err)
	}
	req.Header.Set("Content-Type", "application/json")
	otelamqp.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("post message %s: %w", m.IdempotencyKey, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4:
		return fmt.Errorf("post message %s: HTTP %d %s: %w", m.IdempotencyKey, resp.StatusCode, bytes.TrimSpace(body), ErrRejected)
	}
	return fmt.Errorf("post message %s: HTTP %d %s", m.IdempotencyKey, resp.StatusCode, bytes.TrimSpace(body))
}
