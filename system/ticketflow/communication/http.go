package communication

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// Queries reads and flags messages and alerts. Set*Read return an error
// wrapping ErrNotFound for an unknown id.
type Queries interface {
	Alerts(ctx context.Context, onlyUnread bool, limit int) ([]Alert, error)
	SetAlertRead(ctx context.Context, id string, read bool) error
	Messages(ctx context.Context, f MessageFilter) ([]Message, int, error)
	SetMessageRead(ctx context.Context, id string, read bool) error
}

// Poster stores a validated POST /messages request in one transaction (the
// wiring adds the anomaly points); it returns the stored id and whether the
// call inserted it (false: the idempotency key was already stored).
type Poster interface {
	PostMessage(ctx context.Context, req PostMessageRequest) (id string, inserted bool, err error)
}

// MessageFilter selects inbox messages.
type MessageFilter struct {
	// UserID selects one agent's inbox; "" with Anonymous selects every
	// message without a recipient user id (all customers' messages, as in
	// the original portal).
	UserID     string
	Anonymous  bool
	OnlyUnread bool
	Page       int // 1-based
	Limit      int
}

// Matches reports whether m passes the filter.
func (f MessageFilter) Matches(m Message) bool {
	if f.OnlyUnread && m.IsRead {
		return false
	}
	if f.Anonymous {
		return m.RecipentUserID == ""
	}
	return m.RecipentUserID == f.UserID
}

// SelectMessages is the reference query for stores: filter, newest first,
// page; it returns the page and the total.
func SelectMessages(all []Message, f MessageFilter) ([]Message, int) {
	var keep []Message
	for _, m := range all {
		if f.Matches(m) {
			keep = append(keep, m)
		}
	}
	slices.SortFunc(keep, func(a, b Message) int { return cmp.Or(b.Timestamp.Compare(a.Timestamp), cmp.Compare(a.ID, b.ID)) })
	from := min(max(f.Page-1, 0)*f.Limit, len(keep))
	return keep[from:min(from+f.Limit, len(keep))], len(keep)
}

// SelectAlerts is the reference alert query: newest first, at most limit.
func SelectAlerts(all []Alert, onlyUnread bool, limit int) []Alert {
	var keep []Alert
	for _, a := range all {
		if !onlyUnread || !a.IsRead {
			keep = append(keep, a)
		}
	}
	slices.SortFunc(keep, func(a, b Alert) int { return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return keep[:min(limit, len(keep))]
}

// Paging defaults: the alert list shows the last 10 (original).
const (
	AlertLimit   = 10
	DefaultLimit = 10
	MaxLimit     = 100
)

// MessagesResponse is the body of the inbox lists: {data, total}.
type MessagesResponse struct {
	Data  []Message `json:"data"`
	Total int       `json:"total"`
}

// PostResponse answers POST /messages (extension: the original answered an empty 200).
type PostResponse struct {
	ID       string `json:"id"`
	Inserted bool   `json:"inserted"`
}

// Register mounts the Communication API (spec §2.5) on mux.
func Register(mux *http.ServeMux, q Queries, p Poster, log *slog.Logger) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "TicketFlow.Services.Communication ("+contracts.Communication.AppName+")")
	})
	fail := func(w http.ResponseWriter, err error) { httpjson.Error(w, log, err) }
	alerts := func(w http.ResponseWriter, r *http.Request) {
		only, err := boolParam(r, "onlyUnread", false)
		if err != nil {
			fail(w, err)
			return
		}
		as, err := q.Alerts(r.Context(), only, AlertLimit)
		if err != nil {
			fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, nonNil(as))
	}
	mux.HandleFunc("GET /alerts", alerts)
	mux.HandleFunc("GET /alerts/{$}", alerts)
	mux.HandleFunc("PUT /alerts/{id}", markRead(q.SetAlertRead, fail))
	mux.HandleFunc("PUT /messages/{id}", markRead(q.SetMessageRead, fail))
	list := func(anonymous bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f := MessageFilter{UserID: r.PathValue("userId"), Anonymous: anonymous}
			var err error
			if f.OnlyUnread, err = boolParam(r, "onlyUnread", false); err != nil {
				fail(w, err)
				return
			}
			if f.Page, err = intParam(r, "page", 1, 1, 1<<20); err != nil {
				fail(w, err)
				return
			}
			if f.Limit, err = intParam(r, "limit", DefaultLimit, 1, MaxLimit); err != nil {
				fail(w, err)
				return
			}
			ms, total, err := q.Messages(r.Context(), f)
			if err != nil {
				fail(w, err)
				return
			}
			httpjson.Write(w, http.StatusOK, MessagesResponse{Data: nonNil(ms), Total: total})
		}
	}
	mux.HandleFunc("GET /logged-users/{userId}/messages", list(false))
	mux.HandleFunc("GET /logged-users/{userId}/messages/{$}", list(false))
	mux.HandleFunc("GET /anonymous-users/messages", list(true))
	mux.HandleFunc("GET /anonymous-users/messages/{$}", list(true))
	post := func(w http.ResponseWriter, r *http.Request) {
		var req PostMessageRequest
		if err := httpjson.Decode(r, &req); err != nil {
			fail(w, err)
			return
		}
		if err := req.Validate(); err != nil {
			fail(w, err)
			return
		}
		id, inserted, err := p.PostMessage(r.Context(), req)
		if err != nil {
			fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, PostResponse{ID: id, Inserted: inserted})
	}
	mux.HandleFunc("POST /messages", post)
	mux.HandleFunc("POST /messages/{$}", post)
}

// NewHandler is Register on a fresh mux.
func NewHandler(q Queries, p Poster, log *slog.Logger) (http.Handler, error) {
	if q == nil || p == nil {
		return nil, fmt.Errorf("communication handler: Queries and Poster are required")
	}
	mux := http.NewServeMux()
	Register(mux, q, p, log)
	return mux, nil
}

func markRead(set func(context.Context, string, bool) error, fail func(http.ResponseWriter, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		read, err := boolParam(r, "isRead", true)
		if err != nil {
			fail(w, err)
			return
		}
		if err := set(r.Context(), r.PathValue("id"), read); err != nil {
			if errorsIsNotFound(err) {
				err = httpjson.NotFound(err)
			}
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func boolParam(r *http.Request, name string, def bool) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, httpjson.Badf("%s: want true or false, got %q", name, s)
	}
	return b, nil
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, httpjson.Badf("%s: want a whole number in %d..%d, got %q", name, lo, hi, s)
	}
	return n, nil
}
