package workload

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/scenarios/history"
)

// The wire shapes the generator reads and writes. They mirror the services'
// public HTTP API (system/ticketflow/{inquiries,tickets,communication}/http.go,
// spec §2) and are declared here because scenarios talk to the system only
// over HTTP, never through its Go packages.

type submitRequest struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Category    string `json:"category"`
}

type submitResponse struct {
	ID           string `json:"id"`
	LanguageCode string `json:"languageCode"`
}

type ticketDetails struct {
	ID                  string  `json:"id"`
	Status              string  `json:"status"`
	AssignedAgentUserID *string `json:"assignedAgentUserId"`
	Version             int     `json:"version"`
}

type ticketItem struct {
	ID                    string     `json:"id"`
	Status                string     `json:"status"`
	LanguageCode          string     `json:"languageCode"`
	DescriptionTranslated *string    `json:"descriptionTranslated"`
	Deadline              *time.Time `json:"deadline"`
}

type ticketList struct {
	Data       []ticketItem `json:"data"`
	TotalCount int          `json:"totalCount"`
}

type inquiryItem struct {
	ID       string  `json:"id"`
	Status   string  `json:"status"`
	TicketID *string `json:"ticketId"`
}

type inquiryList struct {
	Data       []inquiryItem `json:"data"`
	TotalCount int           `json:"totalCount"`
}

type agent struct {
	ID string `json:"id"`
}

type message struct {
	ID             string    `json:"id"`
	RecipentEmail  string    `json:"recipentEmail"`
	Title          string    `json:"title"`
	Content        string    `json:"content"`
	Timestamp      time.Time `json:"timestamp"`
	IdempotencyKey string    `json:"idempotencyKey"`
}

type messageList struct {
	Data  []message `json:"data"`
	Total int       `json:"total"`
}

// Ticket statuses and inquiry statuses as the services write them.
const (
	statusWaiting   = "WaitingForScheduledAction"
	statusBefore    = "BeforeQualification"
	statusQualified = "Qualified"
	statusBlocked   = "Blocked"
	statusResolved  = "Resolved"

	inquiryResolved = "Resolved"

	closurePrefix = "closure:" // Communication's idempotency key of a closure message
	closureTitle  = "Zgłoszenie zamknięte!"
)

// reply is what one HTTP exchange gave: Status 0 and Err set when no
// response arrived.
type reply struct {
	Status int
	Body   []byte
	Err    error
}

func (r reply) ok() bool { return r.Err == nil && r.Status >= 200 && r.Status < 300 }

// transient is a failure worth retrying: no response, or a 5xx.
func (r reply) transient() bool { return r.Err != nil || r.Status >= 500 }

func (r reply) error() error {
	switch {
	case r.Err != nil:
		return r.Err
	case r.ok():
		return nil
	default:
		var b struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(r.Body, &b) == nil && b.Message != "" {
			return fmt.Errorf("HTTP %d: %s", r.Status, b.Message)
		}
		return fmt.Errorf("HTTP %d", r.Status)
	}
}

// client speaks the services' HTTP API.
type client struct {
	http *http.Client
	ep   Endpoints
}

const maxBody = 4 << 20

// do sends one request; trace, when non-zero, is sent as a W3C traceparent
// so that the service's spans join that trace.
func (c *client) do(ctx context.Context, method, u string, body any, trace history.TraceID, span [8]byte) reply {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{Err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return reply{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if !trace.IsZero() {
		req.Header.Set("traceparent", "00-"+trace.String()+"-"+hex.EncodeToString(span[:])+"-01")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return reply{Status: resp.StatusCode, Body: b, Err: err}
}

func decodeReply[T any](r reply) (T, error) {
	var v T
	if err := r.error(); err != nil {
		return v, err
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return v, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

func (c *client) ticketURL(id string, parts ...string) string {
	u := c.ep.Tickets + "/tickets/" + url.PathEscape(id)
	for _, p := range parts {
		u += "/" + url.PathEscape(p)
	}
	return u
}

func (c *client) ticket(ctx context.Context, id string) (ticketDetails, reply) {
	r := c.do(ctx, http.MethodGet, c.ticketURL(id), nil, history.TraceID{}, [8]byte{})
	if !r.ok() {
		return ticketDetails{}, r
	}
	t, err := decodeReply[ticketDetails](r)
	if err != nil {
		r.Err = err
	}
	return t, r
}

func (c *client) agents(ctx context.Context) ([]string, error) {
	as, err := decodeReply[[]agent](c.do(ctx, http.MethodGet, c.ep.Tickets+"/agents", nil, history.TraceID{}, [8]byte{}))
	if err != nil {
		return nil, fmt.Errorf("GET /agents: %w", err)
	}
	ids := make([]string, 0, len(as))
	for _, a := range as {
		if a.ID != "" {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("GET /agents: no agents")
	}
	return ids, nil
}

// pages reads a newest-first paged list until want returns false or maxPages
// pages were read; fetch returns the page's items count and the total.
func pages(ctx context.Context, maxPages int, fetch func(ctx context.Context, page int) (n, total int, err error), more func() bool) error {
	seen := 0
	for page := 1; page <= maxPages && more(); page++ {
		n, total, err := fetch(ctx, page)
		if err != nil {
			return err
		}
		seen += n
		if n == 0 || seen >= total {
			return nil
		}
	}
	return nil
}

func (c *client) ticketPage(ctx context.Context, page, limit int) (ticketList, error) {
	return decodeReply[ticketList](c.do(ctx, http.MethodGet,
		c.ep.Tickets+"/tickets?page="+strconv.Itoa(page)+"&limit="+strconv.Itoa(limit), nil, history.TraceID{}, [8]byte{}))
}

func (c *client) inquiryPage(ctx context.Context, page, limit int) (inquiryList, error) {
	return decodeReply[inquiryList](c.do(ctx, http.MethodGet,
		c.ep.Inquiries+"/inquiries?page="+strconv.Itoa(page)+"&limit="+strconv.Itoa(limit), nil, history.TraceID{}, [8]byte{}))
}

func (c *client) messagePage(ctx context.Context, page, limit int) (messageList, error) {
	return decodeReply[messageList](c.do(ctx, http.MethodGet,
		c.ep.Communication+"/anonymous-users/messages?page="+strconv.Itoa(page)+"&limit="+strconv.Itoa(limit), nil, history.TraceID{}, [8]byte{}))
}
