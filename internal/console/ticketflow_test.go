package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/system/runtime/clock"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
)

// sutConsole is a console over a lab whose services are the given HTTP
// servers (id → service name and base URL).
func sutConsole(t *testing.T, services map[string]lab.ServiceInfo) *Console {
	t.Helper()
	info := lab.Info{System: "ticketflow", Services: services}
	c, err := New(Config{Info: func() lab.Info { return info }, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// anomalyInstance serves the real anomaly API of one instance (no broker:
// the console itself posts to every instance).
func anomalyInstance(t *testing.T) (*httptest.Server, *anomaly.Registry) {
	reg := anomaly.NewRegistry(nil)
	mux := http.NewServeMux()
	anomaly.NewHandler(reg, nil, nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, reg
}

func anomaliesOf(t *testing.T, base string) []anomalyView {
	t.Helper()
	var vs []anomalyView
	if err := call(t.Context(), http.MethodGet, base+"/anomalies", nil, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestAdminEnablesOnEveryInstanceAndDisables(t *testing.T) {
	a, _ := anomalyInstance(t)
	b, _ := anomalyInstance(t)
	c := sutConsole(t, map[string]lab.ServiceInfo{
		"tickets":   {Service: "tickets", Instance: 1, HTTP: a.URL},
		"tickets-2": {Service: "tickets", Instance: 2, HTTP: b.URL},
	})
	h := c.Handler()
	rec := post(h, "/admin/tiles/tickets/enable", url.Values{"anomalyType": {"ConsumerDelayBeforeHandler"}, "messageType": {"InquirySubmitted"},
		"DelayInMs": {"250"}}, sameSite)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "2/2") {
		t.Fatalf("enable: %d %s", rec.Code, rec.Body)
	}
	for _, base := range []string{a.URL, b.URL} {
		vs := anomaliesOf(t, base)
		if len(vs) != 1 || vs[0].AnomalyType != "ConsumerDelayBeforeHandler" || vs[0].MessageType != "InquirySubmitted" || vs[0].Params["DelayInMs"] != "250" {
			t.Fatalf("GET %s/anomalies after enable: %+v", base, vs)
		}
	}
	rec = post(h, "/admin/tiles/tickets/disable", url.Values{"anomalyType": {"ConsumerDelayBeforeHandler"}, "messageType": {"InquirySubmitted"}}, sameSite)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No anomaly enabled") {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	for _, base := range []string{a.URL, b.URL} {
		if vs := anomaliesOf(t, base); len(vs) != 0 {
			t.Fatalf("GET %s/anomalies after disable: %+v", base, vs)
		}
	}
}

func TestAdminBadFormsAre400NextToTheField(t *testing.T) {
	a, _ := anomalyInstance(t)
	c := sutConsole(t, map[string]lab.ServiceInfo{"sla": {Service: "sla", Instance: 1, HTTP: a.URL}})
	h := c.Handler()
	for _, tt := range []struct {
		form        url.Values
		field, want string
	}{
		{url.Values{"anomalyType": {"ConsumerDelayAfterHandler"}, "messageType": {"TicketQualified"}}, "DelayInMs", "DelayInMs is required"},
		{url.Values{"anomalyType": {"ConsumerDelayAfterHandler"}, "messageType": {"TicketQualified"}, "DelayInMs": {"soon"}}, "DelayInMs", "want a whole number"},
		{url.Values{"anomalyType": {"OutboxErrorOnSave"}, "messageType": {"TicketQualified"}, "DelayInMs": {"10"}}, "DelayInMs", "delay types only"},
		{url.Values{"anomalyType": {"Chaos"}, "messageType": {"TicketQualified"}}, "anomalyType", "nine anomaly types"},
		{url.Values{"anomalyType": {"OutboxErrorOnSave"}}, "messageType", "messageType is required"},
		{url.Values{"anomalyType": {"OutboxErrorOnSave"}, "messageType": {"a/b"}}, "messageType", "a message type name has no"},
		{url.Values{"anomalyType": {"OutboxErrorOnSave"}, "messageType": {"X"}, "StatusFilter": {"Open"}}, "StatusFilter", "consumer types only"},
	} {
		rec := post(h, "/admin/tiles/sla/enable", tt.form, sameSite)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || !strings.Contains(body, `data-field="`+tt.field+`">`) || !strings.Contains(body, tt.want) {
			t.Errorf("%v: %d, want 400 with %q next to %s:\n%s", tt.form, rec.Code, tt.want, tt.field, body)
		}
	}
	if vs := anomaliesOf(t, a.URL); len(vs) != 0 {
		t.Fatalf("refused forms enabled %+v", vs)
	}
	if rec := post(h, "/admin/tiles/translations/enable", url.Values{"anomalyType": {"OutboxErrorOnSave"}, "messageType": {"X"}}, sameSite); rec.Code != http.StatusNotFound {
		t.Fatalf("a tile for a service without an anomaly API: %d", rec.Code)
	}
}

func TestAdminUndoesAnEnableOneInstanceRefused(t *testing.T) {
	a, _ := anomalyInstance(t)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.Error(w, `{"message":"disk on fire"}`, http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "[]")
	}))
	defer broken.Close()
	c := sutConsole(t, map[string]lab.ServiceInfo{
		"communication":   {Service: "communication", Instance: 1, HTTP: a.URL},
		"communication-2": {Service: "communication", Instance: 2, HTTP: broken.URL},
	})
	rec := post(c.Handler(), "/admin/tiles/communication/enable", url.Values{"anomalyType": {"ConsumerErrorBeforeHandler"}, "messageType": {"TicketResolved"}}, sameSite)
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "communication-2") || !strings.Contains(rec.Body.String(), "disk on fire") {
		t.Fatalf("enable with a refusing instance: %d %s", rec.Code, rec.Body)
	}
	if vs := anomaliesOf(t, a.URL); len(vs) != 0 {
		t.Fatalf("the instance that took it still holds %+v", vs)
	}
}

// recorder is a service stub that records the requests it got.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) add(req *http.Request, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.EscapedPath()+" "+body)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

func TestPortalSubmitChecksFieldsBeforeSending(t *testing.T) {
	var rec recorder
	inq := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.add(r, string(b))
		_, _ = io.WriteString(w, `{"id":"q-1","languageCode":"en"}`)
	}))
	defer inq.Close()
	c := sutConsole(t, map[string]lab.ServiceInfo{"inquiries": {Service: "inquiries", Instance: 1, HTTP: inq.URL}})
	h := c.Handler()
	res := post(h, "/portal/submit-inquiry", url.Values{"name": {"Ann"}, "email": {"not-an-address"}, "title": {"Printer"}, "category": {"technical"}}, sameSite)
	body := res.Body.String()
	if res.Code != http.StatusBadRequest || !strings.Contains(body, `id="error-inquiry-email"`) || !strings.Contains(body, `id="error-inquiry-description"`) ||
		strings.Contains(body, `id="error-inquiry-name"`) {
		t.Fatalf("bad submission: %d\n%s", res.Code, body)
	}
	res = post(h, "/portal/submit-inquiry", url.Values{"name": {"Ann"}, "email": {"ann@example.com"}, "description": {"It prints blank pages."}, "category": {"weather"}}, sameSite)
	if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), `id="error-inquiry-category"`) {
		t.Fatalf("unknown category: %d\n%s", res.Code, res.Body)
	}
	if got := rec.list(); len(got) != 0 {
		t.Fatalf("refused submissions reached the service: %q", got)
	}
	res = post(h, "/portal/submit-inquiry", url.Values{"name": {"Ann"}, "email": {"ann@example.com"}, "title": {"Printer"},
		"description": {"It prints blank pages."}, "category": {"Billing"}}, sameSite)
	if res.Code != http.StatusOK || res.Header().Get("HX-Redirect") != "/portal/inquiries-list?submitted=q-1" {
		t.Fatalf("good submission: %d %v %s", res.Code, res.Header(), res.Body)
	}
	got := rec.list()
	if len(got) != 1 || !strings.HasPrefix(got[0], "POST /inquiries/submit ") || !strings.Contains(got[0], `"category":"billing"`) {
		t.Fatalf("the service got %q", got)
	}
}

// deskStub serves the Tickets API routes the desk reads, with one
// Qualified ticket assigned to agent 2, and records the commands.
func deskStub(t *testing.T, rec *recorder) *httptest.Server {
	agent := tickets.SeedAgents()[1].ID
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(tickets.SeedAgents()) })
	mux.HandleFunc("GET /tickets", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(tickets.ListResponse{TotalCount: 1, Data: []tickets.ListItem{{ID: "t-1", Title: "Printer",
			Status: contracts.StatusQualified, AgentID: &agent, CreatedAt: time.Now()}}})
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.add(r, string(b))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDeskActions(t *testing.T) {
	var rec recorder
	c := sutConsole(t, map[string]lab.ServiceInfo{"tickets": {Service: "tickets", Instance: 1, HTTP: deskStub(t, &rec).URL}})
	h := c.Handler()
	as := tickets.SeedAgents()
	with := func(agent string) map[string]string {
		return map[string]string{"Origin": sameSite["Origin"], "HX-Request": "true", "Cookie": agentCookie + "=" + agent}
	}
	if res := post(h, "/desk/tickets/t-1/resolve", url.Values{"resolution": {"done"}}, sameSite); res.Code != http.StatusBadRequest ||
		!strings.Contains(res.Body.String(), "choose the agent") {
		t.Fatalf("an action before choosing an agent: %d %s", res.Code, res.Body)
	}
	res := post(h, "/desk/tickets/t-1/resolve", url.Values{"resolution": {"  "}}, with(as[1].ID))
	if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), `<span class="error resolution-error">resolution is required</span>`) {
		t.Fatalf("an empty resolution: %d %s", res.Code, res.Body)
	}
	res = post(h, "/desk/tickets/t-1/qualify", url.Values{"ticketType": {"Riddle"}, "severityLevel": {"Low"}}, with(as[0].ID))
	if res.Code != http.StatusBadRequest || !strings.Contains(res.Body.String(), "choose Question or Incident") {
		t.Fatalf("a bad ticket type: %d %s", res.Code, res.Body)
	}
	res = post(h, "/desk/tickets/t-1/assign", url.Values{"agentId": {as[2].ID}}, with(as[1].ID))
	if res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "only to themselves") {
		t.Fatalf("an agent assigning someone else: %d %s", res.Code, res.Body)
	}
	if res := post(h, "/desk/tickets/t-1/explode", nil, with(as[1].ID)); res.Code != http.StatusNotFound {
		t.Fatalf("an unknown action: %d %s", res.Code, res.Body)
	}
	if got := rec.list(); len(got) != 0 {
		t.Fatalf("refused actions reached the service: %q", got)
	}
	res = post(h, "/desk/tickets/t-1/resolve", url.Values{"resolution": {"replaced the toner/drum"}}, with(as[1].ID))
	if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), "done: resolve t-1") {
		t.Fatalf("resolve: %d %s", res.Code, res.Body)
	}
	res = post(h, "/desk/tickets/t-1/qualify", url.Values{"ticketType": {"incident"}, "severityLevel": {"High"}}, with(as[0].ID))
	if res.Code != http.StatusOK {
		t.Fatalf("qualify: %d %s", res.Code, res.Body)
	}
	got := rec.list()
	want := []string{"POST /tickets/t-1/resolve/replaced%20the%20toner%2Fdrum ",
		`POST /tickets/t-1/qualify {"severityLevel":"High","ticketId":"t-1","ticketType":"Incident"}`}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("the service got\n%q\nwant\n%q", got, want)
	}
}

func TestDeskShowsOnlyTheOriginalsActions(t *testing.T) {
	sup, agent, other := tickets.SeedAgents()[0], tickets.SeedAgents()[1], tickets.SeedAgents()[2]
	id := func(a tickets.Agent) *string { return &a.ID }
	for _, tt := range []struct {
		name   string
		t      tickets.ListItem
		me     *tickets.Agent
		expect string
	}{
		{"nobody", tickets.ListItem{Status: contracts.StatusBeforeQualification}, nil, ""},
		{"supervisor qualifies", tickets.ListItem{Status: contracts.StatusBeforeQualification}, &sup, "qualify"},
		{"agent cannot qualify", tickets.ListItem{Status: contracts.StatusBeforeQualification}, &agent, ""},
		{"assign a qualified ticket", tickets.ListItem{Status: contracts.StatusQualified}, &agent, "assign"},
		{"assignee blocks or resolves", tickets.ListItem{Status: contracts.StatusQualified, AgentID: id(agent)}, &agent, "block resolve"},
		{"another agent may not", tickets.ListItem{Status: contracts.StatusQualified, AgentID: id(agent)}, &other, ""},
		{"supervisor may", tickets.ListItem{Status: contracts.StatusBlocked, AgentID: id(agent)}, &sup, "unblock"},
		{"resolved is final", tickets.ListItem{Status: contracts.StatusResolved, AgentID: id(agent)}, &sup, ""},
	} {
		if got := strings.Join(allowed(tt.t, tt.me), " "); got != tt.expect {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.expect)
		}
	}
}

// The desk relays the streams of every Metrics instance as one (each
// instance pulls its own share of the ticks), until the console closes.
func TestDeskRelaysLiveMetricsOfEveryInstanceUntilClose(t *testing.T) {
	services := map[string]lab.ServiceInfo{}
	var aggs []*metrics.Aggregator
	for i := 1; i <= 2; i++ {
		agg := metrics.NewAggregator(clock.Or(nil), 0)
		mux := http.NewServeMux()
		mux.Handle("GET /live-metrics", metrics.LiveHandler(agg, 0, nil))
		ms := httptest.NewServer(mux)
		defer ms.Close()
		aggs = append(aggs, agg)
		services[fmt.Sprintf("metrics-%d", i)] = lab.ServiceInfo{Service: "metrics", Instance: i, HTTP: ms.URL}
	}
	aggs[0].Add(contracts.MetricTick{Name: "tickets-service", Instance: "1", Status: contracts.HealthHealthy, LastChecked: time.Now()})
	c := sutConsole(t, services)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	// The console answers loopback host names only; httptest serves 127.0.0.1.
	resp, err := http.Get(srv.URL + "/desk/live-metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("%s %s", resp.Status, ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("the stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	if l := next(); l != "event: "+metrics.SSEEvent {
		t.Fatalf("first line %q", l)
	}
	if l := next(); !strings.Contains(l, `"name":"tickets-service"`) {
		t.Fatalf("data %q", l)
	}
	labtestEventually(t, 10*time.Second, func() bool { return aggs[0].Subscribers() == 1 && aggs[1].Subscribers() == 1 })
	// A tick of the second instance arrives as a whole event.
	aggs[1].Add(contracts.MetricTick{Name: "sla-service", Instance: "2", Status: contracts.HealthError, LastChecked: time.Now()})
	for l := next(); !strings.Contains(l, `"name":"sla-service"`); l = next() {
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lines.Scan() {
		}
	}()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the relayed stream did not end when the console closed")
	}
}

// sseEvents keeps each event whole: its lines, then the blank line.
func TestSSEEventsKeepsEventsWhole(t *testing.T) {
	var got []string
	in := "event: A\ndata: 1\n\n\n: keepalive\n\nevent: B\ndata: 2\n\nevent: torn\n"
	if err := sseEvents(strings.NewReader(in), func(ev []byte) bool { got = append(got, string(ev)); return true }); err != nil {
		t.Fatal(err)
	}
	want := []string{"event: A\ndata: 1\n\n", ": keepalive\n\n", "event: B\ndata: 2\n\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// labtestEventually polls cond until it holds or the deadline passes.
func labtestEventually(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
