package tickets

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
)

// CommandRunner runs a desk command in one transaction, with the outbox and
// the anomaly points around it. The wiring implements it over Desk.Execute;
// it must be safe for concurrent use.
type CommandRunner interface {
	Run(ctx context.Context, cmd Command) error
}

// Queries reads tickets for the HTTP API (outside any command transaction).
type Queries interface {
	// Ticket loads one ticket; missing is an error wrapping ErrNotFound.
	Ticket(ctx context.Context, id string) (*Ticket, error)
	// Tickets lists tickets newest first and returns the total matching f.
	Tickets(ctx context.Context, f ListFilter) ([]*Ticket, int, error)
}

// ListFilter is the query of GET /tickets/.
type ListFilter struct {
	AgentID string
	Status  contracts.TicketStatus // "" = any (the original ignored this filter, §12.6 #4)
	Page    int                    // 1-based
	Limit   int
}

// Page size bounds of GET /tickets/.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Matches reports whether t passes the filter's agent and status.
func (f ListFilter) Matches(t *Ticket) bool {
	return (f.AgentID == "" || strings.EqualFold(f.AgentID, t.AssignedTo)) && (f.Status == "" || f.Status == t.Status)
}

// Select applies f to ts: it keeps the matching tickets, sorts them newest
// first (then by id) and returns the requested page and the total count. It
// is the reference for store implementations and serves in-memory stores.
func Select(ts []*Ticket, f ListFilter) ([]*Ticket, int) {
	var keep []*Ticket
	for _, t := range ts {
		if f.Matches(t) {
			keep = append(keep, t)
		}
	}
	slices.SortFunc(keep, func(a, b *Ticket) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if f.Page < 1 {
		f.Page = 1
	}
	if f.Limit < 1 {
		f.Limit = DefaultLimit
	}
	from := min((f.Page-1)*f.Limit, len(keep))
	to := min(from+f.Limit, len(keep))
	return keep[from:to], len(keep)
}

// ListItem is an element of GET /tickets/ (original shape).
type ListItem struct {
	ID                    string                 `json:"id"`
	Name                  string                 `json:"name"`
	Email                 string                 `json:"email"`
	Title                 string                 `json:"title"`
	Description           string                 `json:"description"`
	DescriptionTranslated *string                `json:"descriptionTranslated"`
	Category              contracts.Category     `json:"category"`
	Status                contracts.TicketStatus `json:"status"`
	CreatedAt             time.Time              `json:"createdAt"`
	SeverityLevel         *contracts.Severity    `json:"severityLevel"`
	AgentID               *string                `json:"agentId"`
	LanguageCode          string                 `json:"languageCode"`
	Type                  *contracts.TicketType  `json:"type"`
	Deadline              *time.Time             `json:"deadline"`
	Resolution            *string                `json:"resolution"`
	Version               int                    `json:"version"` // extension
}

// ListResponse is the body of GET /tickets/.
type ListResponse struct {
	Data       []ListItem `json:"data"`
	TotalCount int        `json:"totalCount"`
}

// Details is the body of GET /tickets/{id} (original shape).
type Details struct {
	ID                  string                 `json:"id"`
	Email               string                 `json:"email"`
	Status              contracts.TicketStatus `json:"status"`
	CreatedAt           time.Time              `json:"createdAt"`
	SeverityLevel       *contracts.Severity    `json:"severityLevel"`
	AssignedAgentUserID *string                `json:"assignedAgentUserId"`
	Type                *contracts.TicketType  `json:"type"`
	Resolution          *string                `json:"resolution"`
	Deadline            *time.Time             `json:"deadline"`    // extension
	Version             int                    `json:"version"`     // extension
	Title               string                 `json:"title"`       // extension
	Description         string                 `json:"description"` // extension
}

func ptr[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// Item renders a ticket as a list element.
func Item(t *Ticket) ListItem {
	var deadline *time.Time
	if !t.DeadlineUTC.IsZero() {
		d := t.DeadlineUTC
		deadline = &d
	}
	return ListItem{ID: t.ID, Name: t.Name, Email: t.Email, Title: t.Title, Description: t.Description,
		DescriptionTranslated: ptr(t.TranslatedDescription), Category: t.Category, Status: t.Status, CreatedAt: t.CreatedAt,
		SeverityLevel: ptr(t.Severity), AgentID: ptr(t.AssignedTo), LanguageCode: t.LanguageCode, Type: ptr(t.Type),
		Deadline: deadline, Resolution: ptr(t.Resolution), Version: t.Version}
}

// HandlerConfig configures the HTTP API of the tickets service.
type HandlerConfig struct {
	Commands CommandRunner
	Queries  Queries
	Agents   Directory
	Log      *slog.Logger // nil = discard
}

// Validate reports missing dependencies.
func (c HandlerConfig) Validate() error {
	if c.Commands == nil || c.Queries == nil {
		return fmt.Errorf("tickets handler: Commands and Queries are required")
	}
	return nil
}

// Handler serves the tickets API (spec §2.2) except the anomaly routes,
// which the anomaly package serves on the same mux.
type Handler struct {
	cfg HandlerConfig
	mux *http.ServeMux
}

// NewHandler builds the handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.Register(h.mux)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "TicketFlow.Services.Tickets ("+contracts.Tickets.AppName+")")
	})
	mux.HandleFunc("GET /tickets", h.list)
	mux.HandleFunc("GET /tickets/{$}", h.list)
	mux.HandleFunc("POST /tickets", h.create)
	mux.HandleFunc("POST /tickets/{$}", h.create)
	mux.HandleFunc("GET /tickets/{id}", h.get)
	mux.HandleFunc("POST /tickets/{id}/qualify", h.qualify)
	mux.HandleFunc("POST /tickets/{id}/assign/{agentId}", h.run(func(r *http.Request) Command {
		return Assign(r.PathValue("id"), r.PathValue("agentId"))
	}))
	mux.HandleFunc("POST /tickets/{id}/block/{reason}", h.run(func(r *http.Request) Command { return Block(r.PathValue("id"), r.PathValue("reason")) }))
	mux.HandleFunc("POST /tickets/{id}/unblock/{reason}", h.run(func(r *http.Request) Command { return Unblock(r.PathValue("id"), r.PathValue("reason")) }))
	mux.HandleFunc("POST /tickets/{id}/resolve/{resolution}", h.run(func(r *http.Request) Command {
		return Resolve(r.PathValue("id"), r.PathValue("resolution"))
	}))
	mux.HandleFunc("GET /tickets/{id}/client-notes", h.notes)
	mux.HandleFunc("POST /tickets/{id}/client-notes", h.addNote)
	mux.HandleFunc("GET /agents", h.agents)
	mux.HandleFunc("GET /agents/{$}", h.agents)
	mux.HandleFunc("GET /agents/{id}", h.agent(h.cfg.Agents.ByID))
	mux.HandleFunc("GET /users/{id}", h.agent(h.cfg.Agents.ByUserID))
}

func (h *Handler) fail(w http.ResponseWriter, err error) { httpjson.Error(w, h.cfg.Log, err) }

func (h *Handler) run(build func(r *http.Request) Command) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.cfg.Commands.Run(r.Context(), build(r)); err != nil {
			h.fail(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	ts, total, err := h.cfg.Queries.Tickets(r.Context(), f)
	if err != nil {
		h.fail(w, err)
		return
	}
	resp := ListResponse{Data: make([]ListItem, 0, len(ts)), TotalCount: total}
	for _, t := range ts {
		resp.Data = append(resp.Data, Item(t))
	}
	httpjson.Write(w, http.StatusOK, resp)
}

func parseFilter(r *http.Request) (ListFilter, error) {
	q := r.URL.Query()
	f := ListFilter{AgentID: q.Get("agentId"), Page: 1, Limit: DefaultLimit}
	if s := q.Get("status"); s != "" {
		st, err := contracts.ParseTicketStatus(s)
		if err != nil {
			return f, httpjson.BadRequest(err)
		}
		f.Status = st
	}
	var err error
	if f.Page, err = intParam(q.Get("page"), 1, 1, 1<<20); err != nil {
		return f, httpjson.Badf("page: %v", err)
	}
	if f.Limit, err = intParam(q.Get("limit"), DefaultLimit, 1, MaxLimit); err != nil {
		return f, httpjson.Badf("limit: %v", err)
	}
	return f, nil
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want a whole number in %d..%d, got %q", lo, hi, s)
	}
	return n, nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	t, err := h.cfg.Queries.Ticket(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, h.Details(t))
}

// Details renders a ticket as GET /tickets/{id}.
func (h *Handler) Details(t *Ticket) Details {
	var agentUser *string
	if t.AssignedTo != "" {
		u := t.AssignedTo
		if a, err := h.cfg.Agents.ByID(t.AssignedTo); err == nil {
			u = a.UserID
		}
		agentUser = &u
	}
	it := Item(t)
	return Details{ID: t.ID, Email: t.Email, Status: t.Status, CreatedAt: t.CreatedAt, SeverityLevel: it.SeverityLevel,
		AssignedAgentUserID: agentUser, Type: it.Type, Resolution: it.Resolution, Deadline: it.Deadline, Version: t.Version,
		Title: t.Title, Description: t.Description}
}

// CreateRequest is the body of POST /tickets/ (sync flow).
type CreateRequest struct {
	ID                    string             `json:"id"`
	Name                  string             `json:"name"`
	Email                 string             `json:"email"`
	Title                 string             `json:"title"`
	Description           string             `json:"description"`
	TranslatedDescription string             `json:"translatedDescription"`
	Category              contracts.Category `json:"category"`
	LanguageCode          string             `json:"languageCode"`
	CreatedAt             time.Time          `json:"createdAt"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if err := httpjson.Decode(r, &req); err != nil {
		h.fail(w, err)
		return
	}
	cmd := CreateTicket(NewTicketData{ID: req.ID, Name: req.Name, Email: req.Email, Title: req.Title, Description: req.Description,
		TranslatedDescription: req.TranslatedDescription, Category: req.Category, LanguageCode: req.LanguageCode, CreatedAt: req.CreatedAt})
	if err := cmd.create.Validate(); err != nil {
		h.fail(w, err)
		return
	}
	if err := h.cfg.Commands.Run(r.Context(), cmd); err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, map[string]string{"id": req.ID})
}

// QualifyRequest is the body of POST /tickets/{id}/qualify; enums by name
// (any case) or number. ticketId in the body is accepted and ignored.
type QualifyRequest struct {
	TicketID      string               `json:"ticketId"`
	TicketType    contracts.TicketType `json:"ticketType"`
	SeverityLevel contracts.Severity   `json:"severityLevel"`
}

func (h *Handler) qualify(w http.ResponseWriter, r *http.Request) {
	var req QualifyRequest
	if err := httpjson.Decode(r, &req); err != nil {
		h.fail(w, err)
		return
	}
	if err := h.cfg.Commands.Run(r.Context(), Qualify(r.PathValue("id"), req.TicketType, req.SeverityLevel)); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) notes(w http.ResponseWriter, r *http.Request) {
	t, err := h.cfg.Queries.Ticket(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, t.Notes)
}

// NoteRequest is the body of POST /tickets/{id}/client-notes.
type NoteRequest struct {
	Note string `json:"note"`
}

func (h *Handler) addNote(w http.ResponseWriter, r *http.Request) {
	var req NoteRequest
	if err := httpjson.Decode(r, &req); err != nil {
		h.fail(w, err)
		return
	}
	if err := h.cfg.Commands.Run(r.Context(), AddClientNote(r.PathValue("id"), req.Note)); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) agents(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, h.cfg.Agents.All())
}

func (h *Handler) agent(find func(string) (Agent, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := find(r.PathValue("id"))
		if err != nil {
			h.fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, a)
	}
}
