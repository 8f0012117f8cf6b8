package amqpproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	p := testProxy(t, "127.0.0.1:1")
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	resp, body := do("POST", "/faults", `{"fault":"reorder","match":{"type":"V"},"window":4,"delay":"1s"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	var st RuleStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.ID != "r1" || st.Window != 4 || st.Match.Type != "V" {
		t.Fatalf("POST body %s (%v)", body, err)
	}
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"fault":"bogus"}`, http.StatusBadRequest},
		{`{"fault":"drop-ack","colour":"red"}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
		{`{"id":"r1","fault":"drop-ack"}`, http.StatusConflict},
	} {
		if resp, body := do("POST", "/faults", c.body); resp.StatusCode != c.code || !strings.Contains(body, `"error"`) {
			t.Fatalf("POST %s: %d %s, want %d", c.body, resp.StatusCode, body, c.code)
		}
	}
	resp, body = do("GET", "/faults", "")
	var list []RuleStatus
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != 200 || len(list) != 1 {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do("GET", "/faults/r1", ""); resp.StatusCode != 200 {
		t.Fatalf("GET one: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/faults/zz", ""); resp.StatusCode != 404 {
		t.Fatalf("GET missing: %d", resp.StatusCode)
	}
	if resp, _ := do("DELETE", "/faults/r1", ""); resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp, _ := do("DELETE", "/faults/r1", ""); resp.StatusCode != 404 {
		t.Fatalf("DELETE again: %d", resp.StatusCode)
	}
	do("POST", "/faults", `{"fault":"drop-ack"}`)
	if resp, _ := do("DELETE", "/faults", ""); resp.StatusCode != 204 || len(p.Rules()) != 0 {
		t.Fatalf("DELETE all: %d, %d rules left", resp.StatusCode, len(p.Rules()))
	}

	p.ev.record(Event{Fault: DropAck, Rule: "r9", MessageID: "m1"})
	resp, body = do("GET", "/evidence", "")
	var ev Evidence
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.Counts[DropAck] != 1 || len(ev.Events) != 1 || ev.Events[0].MessageID != "m1" || ev.Events[0].Seq != 1 {
		t.Fatalf("GET evidence: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do("DELETE", "/evidence", ""); resp.StatusCode != 204 || p.Count(DropAck) != 0 {
		t.Fatal("evidence not reset")
	}
}
