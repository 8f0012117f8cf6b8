package inquiries

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
)

// SyncCalls are the synchronous HTTP calls of the contrast flow (spec §5.10).
type SyncCalls interface {
	// Translate returns the English text (Translations POST /translations).
	Translate(ctx context.Context, text, languageCode string) (string, error)
	// CreateTicket creates the ticket (Tickets POST /tickets/).
	CreateTicket(ctx context.Context, q *Inquiry, translated string) error
}

// SubmitSync is POST /inquiries/submit-sync: save the inquiry, translate it
// over HTTP when it is not English, then create the ticket over HTTP. Any
// failure or slowness downstream fails the caller — the point of the
// contrast. No message is published (Tickets' TicketCreated still links the
// inquiry later).
func (in *Intake) SubmitSync(ctx context.Context, st Store, calls SyncCalls, req SubmitRequest, now time.Time) (*Inquiry, error) {
	q, _, err := in.Submit(ctx, st, req, now)
	if err != nil {
		return nil, err
	}
	translated := ""
	if !language.IsEnglish(q.LanguageCode) {
		if translated, err = calls.Translate(ctx, q.Description, q.LanguageCode); err != nil {
			return nil, &httpjson.StatusError{Code: http.StatusBadGateway, Err: fmt.Errorf("sync flow: translate: %w", err)}
		}
	}
	if err := calls.CreateTicket(ctx, q, translated); err != nil {
		return nil, &httpjson.StatusError{Code: http.StatusBadGateway, Err: fmt.Errorf("sync flow: create ticket: %w", err)}
	}
	return q, nil
}

// SyncClient implements SyncCalls over HTTP. The original hard-coded
// localhost:5274 and localhost:5112; here the URLs are configuration.
type SyncClient struct {
	TranslationsURL string
	TicketsURL      string
	HTTP            *http.Client // nil = http.DefaultClient
}

var _ SyncCalls = (*SyncClient)(nil)

func (c *SyncClient) post(ctx context.Context, url string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	// The downstream command spans join this flow's trace.
	otelamqp.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST %s: HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(out))
	}
	return out, nil
}

// Translate implements SyncCalls.
func (c *SyncClient) Translate(ctx context.Context, text, languageCode string) (string, error) {
	out, err := c.post(ctx, strings.TrimRight(c.TranslationsURL, "/")+"/translations", map[string]string{"text": text, "languageCode": languageCode})
	return string(out), err
}

// CreateTicket implements SyncCalls with the body of Tickets' POST /tickets/.
func (c *SyncClient) CreateTicket(ctx context.Context, q *Inquiry, translated string) error {
	_, err := c.post(ctx, strings.TrimRight(c.TicketsURL, "/")+"/tickets/", map[string]any{
		"id": q.ID, "name": q.Name, "email": q.Email, "title": q.Title, "description": q.Description,
		"translatedDescription": translated, "category": q.Category, "languageCode": q.LanguageCode, "createdAt": q.CreatedAt,
	})
	return err
}

// SyncSubmitter runs SubmitSync in the wiring's transaction.
type SyncSubmitter interface {
	SubmitSync(ctx context.Context, req SubmitRequest) (*Inquiry, error)
}

// RegisterSync mounts POST /inquiries/submit-sync.
func RegisterSync(mux *http.ServeMux, sub SyncSubmitter, log *slog.Logger) {
	mux.HandleFunc("POST /inquiries/submit-sync", func(w http.ResponseWriter, r *http.Request) {
		var req SubmitRequest
		if err := httpjson.Decode(r, &req); err != nil {
			httpjson.Error(w, log, err)
			return
		}
		if err := req.Validate(); err != nil {
			httpjson.Error(w, log, err)
			return
		}
		q, err := sub.SubmitSync(r.Context(), req)
		if err != nil {
			httpjson.Error(w, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, SubmitResponse{ID: q.ID, LanguageCode: q.LanguageCode})
	})
}
