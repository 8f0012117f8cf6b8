package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// sutTimeout bounds one call of the console to a service of the system
// under test (the portal, desk and admin pages call them server-side).
const sutTimeout = 10 * time.Second

// apiError is a service's answer other than 2xx: its status and the
// message of its {message} body (or the body itself).
type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// instance is one running instance of a service: its lab id and base URL.
type instance struct {
	ID   string
	HTTP string
}

// instances lists the instances of a service in the lab, in id order.
func (c *Console) instances(service string) []instance {
	info := c.cfg.Info()
	var out []instance
	for _, id := range info.IDs() {
		if s := info.Services[id]; s.Service == service && s.HTTP != "" {
			out = append(out, instance{ID: id, HTTP: s.HTTP})
		}
	}
	return out
}

// first returns the base URL of the first instance of a service.
func (c *Console) first(service string) (string, error) {
	ins := c.instances(service)
	if len(ins) == 0 {
		return "", fmt.Errorf("this lab runs no %s service", service)
	}
	return ins[0].HTTP, nil
}

// call sends one request to a service of the system under test: body (if
// not nil) as JSON, a 2xx answer decoded into out (if not nil; a *string
// takes the body as text). Any other answer is an *apiError.
func call(ctx context.Context, method, url string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, sutTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &eb) == nil && eb.Message != "" {
			msg = eb.Message
		}
		if msg == "" {
			msg = resp.Status
		}
		return &apiError{Code: resp.StatusCode, Message: msg}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *string:
		*o = string(b)
		return nil
	default:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, url, err)
		}
		return nil
	}
}

// codeOf is the status the console answers for a failed call: the
// service's 4xx as it is, anything else 502.
func codeOf(err error) int {
	if ae, ok := errors.AsType[*apiError](err); ok && ae.Code/100 == 4 {
		return ae.Code
	}
	return http.StatusBadGateway
}

// ticketflowOnly refuses the Ticketflow pages in a lab of another system.
func (c *Console) ticketflowOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if sys := c.cfg.Info().System; sys != "ticketflow" {
			http.Error(w, fmt.Sprintf("this lab runs %s; the portal, desk and admin panel are Ticketflow's", sys), http.StatusNotFound)
			return
		}
		next(w, r)
	}
}
