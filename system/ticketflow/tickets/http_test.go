package tickets

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

type api struct {
	t   *testing.T
	srv *httptest.Server
}

func (a api) do(method, path, body string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a api) ok(method, path, body string, want int) string {
	a.t.Helper()
	code, b := a.do(method, path, body)
	if code != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	return b
}

func newAPI(t *testing.T) (api, *runner) {
	repo := newMemRepo()
	clk := t0
	r := &runner{desk: NewDesk(NewDirectory()), repo: repo, now: func() time.Time { clk = clk.Add(time.Minute); return clk }}
	h, err := NewHandler(HandlerConfig{Commands: r, Queries: repo, Agents: NewDirectory()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return api{t, srv}, r
}

func TestHTTPTicketLifecycle(t *testing.T) {
	a, r := newAPI(t)
	id := "22222222-2222-2222-2222-222222222222"
	a.ok("POST", "/tickets/", `{"id":"`+id+`","name":"Anna","email":"anna@devmentors.io","title":"VPN","description":"VPN does not connect","category":"technical","languageCode":"en","createdAt":"2025-02-25T09:00:00Z"}`, 201)
	a.ok("POST", "/tickets/"+id+"/qualify", `{"ticketId":"`+id+`","ticketType":"incident","severityLevel":3}`, 200)
	a.ok("POST", "/tickets/"+id+"/assign/00000000-0000-0000-0000-000000000002", "", 200)
	a.ok("POST", "/tickets/"+id+"/block/waiting%20for%20vendor", "", 200)
	a.ok("POST", "/tickets/"+id+"/unblock/vendor%20answered", "", 200)
	a.ok("POST", "/tickets/"+id+"/client-notes", `{"note":"any news?"}`, 200)
	a.ok("POST", "/tickets/"+id+"/resolve/reset%20the%20VPN%20profile", "", 200)

	want := []string{contracts.TypeTicketCreated, contracts.TypeTicketQualified, contracts.TypeIncidentCreated,
		contracts.TypeAgentAssignedToTicket, contracts.TypeTicketBlocked, contracts.TypeTicketUnblocked, contracts.TypeTicketResolved}
	if got := types(r.events); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}

	var d map[string]any
	if err := json.Unmarshal([]byte(a.ok("GET", "/tickets/"+id, "", 200)), &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "email", "status", "createdAt", "severityLevel", "assignedAgentUserId", "type", "resolution"} {
		if _, ok := d[k]; !ok {
			t.Errorf("details lack %q: %v", k, d)
		}
	}
	if d["status"] != "Resolved" || d["severityLevel"] != "Critical" || d["type"] != "Incident" ||
		d["assignedAgentUserId"] != "00000000-0000-0000-0000-000000000002" || d["resolution"] != "reset the VPN profile" || d["createdAt"] != "2025-02-25T09:00:00Z" {
		t.Fatalf("details %v", d)
	}
	if notes := a.ok("GET", "/tickets/"+id+"/client-notes", "", 200); !strings.HasSuffix(notes, "] any news?") {
		t.Fatalf("notes %q", notes)
	}
}

func TestHTTPListFiltersAndPages(t *testing.T) {
	a, _ := newAPI(t)
	for i, id := range []string{"t1", "t2", "t3"} {
		a.ok("POST", "/tickets", `{"id":"`+id+`","name":"N","email":"n@example.com","description":"d","languageCode":"en","createdAt":"2025-02-25T0`+string(rune('1'+i))+`:00:00Z"}`, 201)
	}
	a.ok("POST", "/tickets/t2/qualify", `{"ticketType":"Question","severityLevel":"Low"}`, 200)

	var l ListResponse
	_ = json.Unmarshal([]byte(a.ok("GET", "/tickets/?page=1&limit=2", "", 200)), &l)
	if l.TotalCount != 3 || len(l.Data) != 2 || l.Data[0].ID != "t3" || l.Data[1].ID != "t2" {
		t.Fatalf("page 1: %+v", l)
	}
	_ = json.Unmarshal([]byte(a.ok("GET", "/tickets?page=2&limit=2", "", 200)), &l)
	if l.TotalCount != 3 || len(l.Data) != 1 || l.Data[0].ID != "t1" {
		t.Fatalf("page 2: %+v", l)
	}
	_ = json.Unmarshal([]byte(a.ok("GET", "/tickets/?status=qualified", "", 200)), &l)
	if l.TotalCount != 1 || l.Data[0].ID != "t2" || *l.Data[0].SeverityLevel != contracts.SeverityLow {
		t.Fatalf("status filter: %+v", l)
	}
	raw := a.ok("GET", "/tickets/?limit=1", "", 200)
	var m struct{ Data []map[string]any }
	_ = json.Unmarshal([]byte(raw), &m)
	keys := slices.Sorted(maps.Keys(m.Data[0]))
	want := []string{"agentId", "category", "createdAt", "deadline", "description", "descriptionTranslated", "email", "id", "languageCode", "name", "resolution", "severityLevel", "status", "title", "type", "version"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("list item keys %v", keys)
	}
}

func TestHTTPBadInputIs400WithMessage(t *testing.T) {
	a, _ := newAPI(t)
	a.ok("POST", "/tickets", `{"id":"x","name":"N","email":"n@example.com","description":"d","languageCode":"en"}`, 201)
	tests := []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/tickets/x/qualify", `{"ticketType":"Incident","severityLevel":"Apocalyptic"}`, 400, "severity"},
		{"POST", "/tickets/x/qualify", `{"ticketType":"Unknown","severityLevel":"Low"}`, 400, "Incident or Question"},
		{"POST", "/tickets/x/qualify", `nope`, 400, "invalid JSON"},
		{"POST", "/tickets/x/assign/00000000-0000-0000-0000-000000000002", "", 400, "cannot assign"},
		{"POST", "/tickets/x/unblock/why", "", 400, "cannot unblock"},
		{"POST", "/tickets/nope/block/why", "", 404, "not found"},
		{"GET", "/tickets/nope", "", 404, "not found"},
		{"GET", "/tickets/?status=Sleeping", "", 400, "ticket status"},
		{"GET", "/tickets/?limit=0", "", 400, "limit"},
		{"POST", "/tickets", `{"id":"y","name":"N","email":"bad","description":"d","languageCode":"en"}`, 400, "email"},
		{"POST", "/tickets", `{"id":"x","name":"N","email":"n@example.com","description":"d","languageCode":"en"}`, 400, "already exists"},
		{"POST", "/tickets/x/client-notes", `{"note":""}`, 400, "note is required"},
		{"GET", "/agents/nobody", "", 404, "not found"},
	}
	for _, tt := range tests {
		code, body := a.do(tt.method, tt.path, tt.body)
		var eb struct{ Message string }
		if err := json.Unmarshal([]byte(body), &eb); err != nil || code != tt.code || !strings.Contains(eb.Message, tt.msg) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tt.method, tt.path, tt.body, code, body, tt.code, tt.msg)
		}
	}
}

func TestHTTPAgents(t *testing.T) {
	a, _ := newAPI(t)
	var agents []map[string]any
	_ = json.Unmarshal([]byte(a.ok("GET", "/agents", "", 200)), &agents)
	if len(agents) != 3 || agents[0]["fullName"] != "Bogusław Złotówa" || agents[0]["position"] != "Supervisor" {
		t.Fatalf("agents %v", agents)
	}
	for _, k := range []string{"id", "userId", "fullName", "position", "avatarUrl"} {
		if _, ok := agents[1][k]; !ok {
			t.Fatalf("agent lacks %q", k)
		}
	}
	if b := a.ok("GET", "/users/00000000-0000-0000-0000-000000000003", "", 200); !strings.Contains(b, "Kunegunda") {
		t.Fatalf("user lookup %s", b)
	}
	if b := a.ok("GET", "/", "", 200); !strings.Contains(b, "tickets-service") {
		t.Fatalf("root %q", b)
	}
}
