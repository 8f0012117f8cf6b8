package inquiries

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// Submitter runs a submission in one transaction with the outbox and the
// anomaly points (the wiring, over Intake.Submit). Safe for concurrent use.
type Submitter interface {
	Submit(ctx context.Context, req SubmitRequest) (*Inquiry, error)
}

// Lister pages inquiries newest first and returns the total count.
type Lister interface {
	Inquiries(ctx context.Context, page, limit int) ([]*Inquiry, int, error)
}

// Page bounds of GET /inquiries: limit is capped at 25 as in the original.
const (
	DefaultLimit = 10
	MaxLimit     = 25
)

// Page is the reference paging of stores: newest first, then by id.
func Page(all []*Inquiry, page, limit int) ([]*Inquiry, int) {
	s := slices.Clone(all)
	slices.SortFunc(s, func(a, b *Inquiry) int { return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	from := min(max(page-1, 0)*limit, len(s))
	return s[from:min(from+limit, len(s))], len(s)
}

// View is one element of GET /inquiries (original shape).
type View struct {
	ID           string                  `json:"id"`
	Name         string                  `json:"name"`
	Title        string                  `json:"title"`
	Email        string                  `json:"email"`
	Description  string                  `json:"description"`
	Category     contracts.Category      `json:"category"`
	Status       contracts.InquiryStatus `json:"status"`
	CreatedAt    time.Time               `json:"createdAt"`
	TicketID     *string                 `json:"ticketId"`
	LanguageCode string                  `json:"languageCode"` // extension
}

// ListResponse is the body of GET /inquiries.
type ListResponse struct {
	Data       []View `json:"data"`
	TotalCount int    `json:"totalCount"`
}

// NewView renders an inquiry.
func NewView(q *Inquiry) View {
	v := View{ID: q.ID, Name: q.Name, Title: q.Title, Email: q.Email, Description: q.Description, Category: q.Category,
		Status: q.Status, CreatedAt: q.CreatedAt, LanguageCode: q.LanguageCode}
	if q.TicketID != "" {
		t := q.TicketID
		v.TicketID = &t
	}
	return v
}

// SubmitResponse is the body of a successful POST /inquiries/submit
// (extension: the original answered 200 without a body).
type SubmitResponse struct {
	ID           string `json:"id"`
	LanguageCode string `json:"languageCode"`
}

// NewHandler serves the inquiries API (spec §2.1) except the anomaly routes
// and POST /inquiries/submit-sync: GET /, GET /inquiries, POST /inquiries/submit.
func NewHandler(sub Submitter, list Lister, log *slog.Logger) (http.Handler, error) {
	if sub == nil || list == nil {
		return nil, fmt.Errorf("inquiries handler: Submitter and Lister are required")
	}
	mux := http.NewServeMux()
	Register(mux, sub, list, log)
	return mux, nil
}

// Register mounts the routes on mux.
func Register(mux *http.ServeMux, sub Submitter, list Lister, log *slog.Logger) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "TicketFlow.Services.Inquiries ("+contracts.Inquiries.AppName+")")
	})
	listFn := func(w http.ResponseWriter, r *http.Request) {
		page, err := intParam(r.URL.Query().Get("page"), 1, 1, 1<<20)
		if err != nil {
			httpjson.Error(w, log, httpjson.Badf("page: %v", err))
			return
		}
		limit, err := intParam(r.URL.Query().Get("limit"), DefaultLimit, 1, 1<<20)
		if err != nil {
			httpjson.Error(w, log, httpjson.Badf("limit: %v", err))
			return
		}
		qs, total, err := list.Inquiries(r.Context(), page, min(limit, MaxLimit))
		if err != nil {
			httpjson.Error(w, log, err)
			return
		}
		resp := ListResponse{Data: make([]View, 0, len(qs)), TotalCount: total}
		for _, q := range qs {
			resp.Data = append(resp.Data, NewView(q))
		}
		httpjson.Write(w, http.StatusOK, resp)
	}
	mux.HandleFunc("GET /inquiries", listFn)
	mux.HandleFunc("GET /inquiries/{$}", listFn)
	mux.HandleFunc("POST /inquiries/submit", func(w http.ResponseWriter, r *http.Request) {
		var req SubmitRequest
		if err := httpjson.Decode(r, &req); err != nil {
			httpjson.Error(w, log, err)
			return
		}
		if err := req.Validate(); err != nil {
			httpjson.Error(w, log, err)
			return
		}
		q, err := sub.Submit(r.Context(), req)
		if err != nil {
			httpjson.Error(w, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, SubmitResponse{ID: q.ID, LanguageCode: q.LanguageCode})
	})
}

func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want a whole number >= %d, got %q", lo, s)
	}
	return n, nil
}
