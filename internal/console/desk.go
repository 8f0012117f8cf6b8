package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
)

// The agent desk (original: the "tickets" front end, spec §9.2): work as
// one of the seeded agents, the tickets list with the row actions the
// original enabled (qualify, assign, block, unblock, resolve), details
// with client notes, alerts, the agent's inbox, and the live-metrics widget
// fed by the Metrics service's /live-metrics stream.

// agentCookie holds the agent the desk works as (the original kept it in
// the browser's localStorage).
const agentCookie = "tf-agent"

// deskPageSize is the original list's page size.
const deskPageSize = 10

// Desk actions: the path element of POST /desk/tickets/{id}/{action}.
const (
	actQualify = "qualify"
	actAssign  = "assign"
	actBlock   = "block"
	actUnblock = "unblock"
	actResolve = "resolve"
)

// deskRow is one ticket with what the working agent may do to it.
type deskRow struct {
	tickets.ListItem
	Agent   *tickets.Agent // assignee, nil when unassigned
	Actions []string
	Errors  FieldErrors // of the last action on this row
	Values  url.Values
	Failed  string // the action the errors are about
}

// deskActionView is one action form of a row.
type deskActionView struct {
	Row    deskRow
	Action string
	View   deskView
}

type deskView struct {
	Agents  []tickets.Agent
	Me      *tickets.Agent
	Page    int
	Pages   int
	Total   int
	Rows    []deskRow
	Error   string
	Types   []contracts.TicketType
	Levels  []contracts.Severity
	Done    string
	Metrics string // the live-metrics stream's URL ("" when the lab runs no Metrics service)
}

func (c *Console) deskRoutes(mux *http.ServeMux) {
	h := c.ticketflowOnly
	mux.HandleFunc("GET /desk", h(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/desk/tickets-list", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /desk/tickets-list", h(func(w http.ResponseWriter, r *http.Request) {
		v, code := c.deskView(r, nil)
		c.full(w, code, "desk", "Tickets", v)
	}))
	mux.HandleFunc("GET /desk/tickets", h(func(w http.ResponseWriter, r *http.Request) {
		v, code := c.deskView(r, nil)
		c.render(w, code, "desk-tickets", v)
	}))
	mux.HandleFunc("POST /desk/work-as", h(c.workAs))
	mux.HandleFunc("POST /desk/tickets/{id}/{action}", h(c.deskAction))
	mux.HandleFunc("GET /desk/tickets/{id}/client-notes", h(c.notes))
	mux.HandleFunc("POST /desk/tickets/{id}/client-notes", h(c.addNote))
	mux.HandleFunc("GET /desk/messages", h(c.messages(false)))
	mux.HandleFunc("POST /desk/messages/{id}/read", h(c.markMessage(false)))
	mux.HandleFunc("GET /desk/alerts", h(c.alerts))
	mux.HandleFunc("POST /desk/alerts/{id}/read", h(c.markAlert))
	mux.HandleFunc("GET /desk/live-metrics", h(c.liveMetrics))
	mux.HandleFunc("GET /desk/avatar", h(c.avatar))
}

// workingAgent returns the agent id the desk works as.
func (c *Console) workingAgent(r *http.Request) (string, bool) {
	ck, err := r.Cookie(agentCookie)
	if err != nil || ck.Value == "" {
		return "", false
	}
	return ck.Value, true
}

func (c *Console) agents(ctx context.Context) ([]tickets.Agent, error) {
	base, err := c.first("tickets")
	if err != nil {
		return nil, err
	}
	var as []tickets.Agent
	if err := call(ctx, http.MethodGet, base+"/agents", nil, &as); err != nil {
		return nil, err
	}
	return as, nil
}

func agentByID(as []tickets.Agent, id string) *tickets.Agent {
	for i := range as {
		if strings.EqualFold(as[i].ID, id) {
			return &as[i]
		}
	}
	return nil
}

// workAs chooses the agent the desk works as (a cookie).
func (c *Console) workAs(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("agentId")
	as, err := c.agents(r.Context())
	if err != nil {
		http.Error(w, "cannot read the agents: "+err.Error(), codeOf(err))
		return
	}
	if agentByID(as, id) == nil {
		v, _ := c.deskView(r, nil)
		v.Error = fmt.Sprintf("no agent %q: choose one of the list", id)
		c.full(w, http.StatusBadRequest, "desk", "Tickets", v)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: agentCookie, Value: id, Path: "/desk", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	c.redirect(w, r, "/desk/tickets-list")
}

// allowed lists the actions the original desk enabled for a ticket and the
// working agent (spec §9.2 row actions; the backend checks none of them).
func allowed(t tickets.ListItem, me *tickets.Agent) []string {
	if me == nil {
		return nil
	}
	sup := me.Position == tickets.PositionSupervisor
	assigned := t.AgentID != nil && *t.AgentID != ""
	mine := sup || (assigned && strings.EqualFold(*t.AgentID, me.ID))
	var out []string
	if t.Status == contracts.StatusBeforeQualification && sup {
		out = append(out, actQualify)
	}
	if (t.Status == contracts.StatusQualified || t.Status == contracts.StatusBlocked) && !assigned {
		out = append(out, actAssign)
	}
	if assigned && mine {
		switch t.Status {
		case contracts.StatusQualified:
			out = append(out, actBlock, actResolve)
		case contracts.StatusBlocked:
			out = append(out, actUnblock)
		}
	}
	return out
}

// deskView reads the agents and a page of tickets; failed, when not nil, is
// the row of a refused action, shown with its errors.
func (c *Console) deskView(r *http.Request, failed *deskRow) (deskView, int) {
	v := deskView{Page: 1, Types: []contracts.TicketType{contracts.TypeQuestion, contracts.TypeIncident}, Levels: contracts.Severities(),
		Done: r.URL.Query().Get("done")}
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
		v.Page = p
	}
	if len(c.instances("metrics")) > 0 {
		v.Metrics = "/desk/live-metrics"
	}
	as, err := c.agents(r.Context())
	if err != nil {
		v.Error = "cannot read the agents: " + err.Error()
		return v, http.StatusBadGateway
	}
	v.Agents = as
	if id, ok := c.workingAgent(r); ok {
		v.Me = agentByID(as, id)
	}
	base, _ := c.first("tickets")
	var resp tickets.ListResponse
	if err := call(r.Context(), http.MethodGet, fmt.Sprintf("%s/tickets?page=%d&limit=%d", base, v.Page, deskPageSize), nil, &resp); err != nil {
		v.Error = "cannot read the tickets: " + err.Error()
		return v, http.StatusBadGateway
	}
	v.Total = resp.TotalCount
	v.Pages = max(1, (v.Total+deskPageSize-1)/deskPageSize)
	for _, t := range resp.Data {
		row := deskRow{ListItem: t, Actions: allowed(t, v.Me)}
		if t.AgentID != nil {
			row.Agent = agentByID(as, *t.AgentID)
		}
		if failed != nil && failed.ID == t.ID {
			row.Errors, row.Values = failed.Errors, failed.Values
			if !slices.Contains(row.Actions, failed.Failed) {
				row.Errors = foldErrors(failed.Failed, failed.Errors) // its form is not on the row
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return v, http.StatusOK
}

// foldErrors puts every reason of a form under "" (the row's own error line).
func foldErrors(action string, fe FieldErrors) FieldErrors {
	if len(fe) == 0 {
		return fe
	}
	return FieldErrors{"": action + ": " + fe.Error()}
}

// deskAction runs one row action. Its form is checked first (each reason
// next to its field, 400, nothing sent); the service's refusal (a domain
// rule) is shown on the row with the service's status.
func (c *Console) deskAction(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	row := &deskRow{ListItem: tickets.ListItem{ID: id}, Values: r.PostForm, Failed: action}
	fail := func(code int, fe FieldErrors) {
		row.Errors = fe
		v, _ := c.deskView(r, row)
		if r.Header.Get("HX-Request") != "" {
			c.render(w, code, "desk-tickets", v)
			return
		}
		c.full(w, code, "desk", "Tickets", v)
	}
	me, ok := c.workingAgent(r)
	if !ok {
		fail(http.StatusBadRequest, FieldErrors{"": "choose the agent to work as first"})
		return
	}
	method, path, body, fe := deskRequest(id, action, me, r.PostForm)
	if fe != nil {
		fail(http.StatusBadRequest, fe)
		return
	}
	if path == "" {
		http.Error(w, fmt.Sprintf("no desk action %q (valid: %s)", action, strings.Join([]string{actQualify, actAssign, actBlock, actUnblock, actResolve}, ", ")), http.StatusNotFound)
		return
	}
	if action == actAssign {
		as, err := c.agents(r.Context())
		if err != nil {
			fail(codeOf(err), FieldErrors{"": "cannot read the agents: " + err.Error()})
			return
		}
		target, self := agentByID(as, r.PostForm.Get("agentId")), agentByID(as, me)
		switch {
		case target == nil:
			fail(http.StatusBadRequest, FieldErrors{"agentId": fmt.Sprintf("no agent %q", r.PostForm.Get("agentId"))})
			return
		case self == nil:
			fail(http.StatusBadRequest, FieldErrors{"": "the agent the desk works as is unknown; choose again"})
			return
		case self.Position != tickets.PositionSupervisor && !strings.EqualFold(target.ID, self.ID):
			fail(http.StatusForbidden, FieldErrors{"agentId": "an agent may assign a ticket only to themselves"})
			return
		}
	}
	base, err := c.first("tickets")
	if err == nil {
		err = call(r.Context(), method, base+path, body, nil)
	}
	if err != nil {
		fail(codeOf(err), FieldErrors{"": action + " refused: " + err.Error()})
		return
	}
	if r.Header.Get("HX-Request") != "" {
		v, code := c.deskView(r, nil)
		v.Done = action + " " + id
		c.render(w, code, "desk-tickets", v)
		return
	}
	http.Redirect(w, r, "/desk/tickets-list?done="+url.QueryEscape(action+" "+id), http.StatusSeeOther)
}

// deskRequest turns an action's form into the Tickets API call (the
// original routes: reasons and resolutions in the path). An unknown action
// gives an empty path.
func deskRequest(id, action, me string, form url.Values) (method, path string, body any, fe FieldErrors) {
	tp := "/tickets/" + url.PathEscape(id)
	text := func(field string) (string, FieldErrors) {
		s := strings.TrimSpace(form.Get(field))
		switch {
		case s == "":
			return "", FieldErrors{field: field + " is required"}
		case len(s) > 500:
			return "", FieldErrors{field: field + " is longer than 500 characters"}
		}
		return s, nil
	}
	switch action {
	case actQualify:
		fe = FieldErrors{}
		typ, err := contracts.ParseTicketType(form.Get("ticketType"))
		if err != nil || (typ != contracts.TypeIncident && typ != contracts.TypeQuestion) {
			fe["ticketType"] = fmt.Sprintf("ticketType %q: choose Question or Incident", form.Get("ticketType"))
		}
		sev, err := contracts.ParseSeverity(form.Get("severityLevel"))
		if err != nil {
			fe["severityLevel"] = fmt.Sprintf("severityLevel %q: choose one of %v", form.Get("severityLevel"), contracts.Severities())
		}
		if len(fe) > 0 {
			return "", "", nil, fe
		}
		return http.MethodPost, tp + "/qualify", map[string]string{"ticketId": id, "ticketType": string(typ), "severityLevel": string(sev)}, nil
	case actAssign:
		agent := strings.TrimSpace(form.Get("agentId"))
		if agent == "" {
			return "", "", nil, FieldErrors{"agentId": "agentId is required"}
		}
		return http.MethodPost, tp + "/assign/" + url.PathEscape(agent), nil, nil
	case actBlock, actUnblock:
		reason, fe := text("reason")
		if fe != nil {
			return "", "", nil, fe
		}
		return http.MethodPost, tp + "/" + action + "/" + url.PathEscape(reason), nil, nil
	case actResolve:
		res, fe := text("resolution")
		if fe != nil {
			return "", "", nil, fe
		}
		return http.MethodPost, tp + "/resolve/" + url.PathEscape(res), nil, nil
	}
	return "", "", nil, nil
}

type alertsView struct {
	OnlyUnread bool
	Alerts     []communication.Alert
	Error      string
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request) {
	v := alertsView{OnlyUnread: r.URL.Query().Get("onlyUnread") == "true"}
	code := http.StatusOK
	base, err := c.first("communication")
	if err == nil {
		err = call(r.Context(), http.MethodGet, fmt.Sprintf("%s/alerts?onlyUnread=%t", base, v.OnlyUnread), nil, &v.Alerts)
	}
	if err != nil {
		code, v.Error = http.StatusBadGateway, "cannot read the alerts: "+err.Error()
	}
	c.render(w, code, "alerts", v)
}

func (c *Console) markAlert(w http.ResponseWriter, r *http.Request) {
	base, err := c.first("communication")
	if err == nil {
		err = call(r.Context(), http.MethodPut, base+"/alerts/"+url.PathEscape(r.PathValue("id"))+"?isRead=true", nil, nil)
	}
	if err != nil {
		http.Error(w, "mark the alert: "+err.Error(), codeOf(err))
		return
	}
	c.alerts(w, r)
}

// liveMetrics relays the /live-metrics Server-Sent Events streams of every
// Metrics instance (each pulls its share of the ticks from the broker) as
// one stream, event by event, so that the desk's EventSource stays on the
// console's origin. An instance that cannot be reached is left out; with
// none reachable the answer is 502. It ends when the browser goes, every
// instance has ended its stream, or the console closes.
func (c *Console) liveMetrics(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ins := c.instances("metrics")
	if len(ins) == 0 {
		http.Error(w, "this lab runs no metrics service", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(c.closing, cancel)
	defer stop()
	var (
		streams []io.ReadCloser
		errs    []error
	)
	for _, in := range ins {
		body, err := openMetrics(ctx, in.HTTP)
		if err != nil {
			c.log.Debug("Live metrics of an instance unavailable", "instance", in.ID, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", in.ID, err))
			continue
		}
		streams = append(streams, body)
	}
	if len(streams) == 0 {
		http.Error(w, "live metrics: "+errors.Join(errs...).Error(), http.StatusBadGateway)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	events := make(chan []byte)
	var wg sync.WaitGroup
	for _, body := range streams {
		wg.Go(func() {
			defer body.Close()
			if err := sseEvents(body, func(ev []byte) bool {
				select {
				case events <- ev:
					return true
				case <-ctx.Done():
					return false
				}
			}); err != nil && ctx.Err() == nil {
				c.log.Debug("Live metrics relay of an instance ended", "err", err)
			}
		})
	}
	go func() { wg.Wait(); close(events) }()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			if _, err := w.Write(ev); err != nil {
				return
			}
			fl.Flush()
		case <-ctx.Done():
			return
		}
	}
}

// openMetrics opens one Metrics instance's /live-metrics stream.
func openMetrics(ctx context.Context, base string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/live-metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Transport: http.DefaultTransport}).Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("the Metrics service answered %s", resp.Status)
	}
	return resp.Body, nil
}

// sseEvents hands each complete event of a Server-Sent Events stream (its
// lines and the blank line that ends it) to emit, until emit returns false
// or the stream ends.
func sseEvents(r io.Reader, emit func([]byte) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev []byte
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if len(ev) == 0 {
				continue
			}
			if !emit(append(ev, '\n')) {
				return nil
			}
			ev = nil
			continue
		}
		ev = append(append(ev, line...), '\n')
	}
	return sc.Err()
}

// deadlineIn renders deadline − createdAt as the original's d/h/m/s badge.
func deadlineIn(created time.Time, deadline *time.Time) string {
	if deadline == nil {
		return "deadline unknown"
	}
	d := deadline.Sub(created).Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	return fmt.Sprintf("%dd %dh %dm %ds", days, d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
}
