//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/ticketsale"
)

// TestTicketsaleLab brings ticketsale up on its own private broker, checks
// that status --json shows its six services healthy and that payments got
// the gateway's URL, signs a user up and creates a ticket with the session
// cookie, then takes the lab down and checks that no process is left.
func TestTicketsaleLab(t *testing.T) {
	work := t.TempDir()
	start := time.Now()
	u := startUp(t, work, "ts", "--system", "ticketsale")
	u.waitReady(t)
	t.Logf("ticketsale up: every component healthy after %s", u.readyAfter(t).Round(10*time.Millisecond))
	if ticketsale.Note != "" && !strings.Contains(u.stdout.String(), ticketsale.Note) {
		t.Errorf("up does not show the system's note:\n%s", u.stdout)
	}
	doc, code := statusJSON(t, work, "--run-dir", u.runDir)
	if code != 0 {
		t.Fatalf("status exit %d", code)
	}
	checkContract(t, doc, "gateway", "auth", "expiration", "payments", "tickets", "orders")

	in, err := lab.ReadInfo(u.runDir)
	if err != nil {
		t.Fatal(err)
	}
	// payments refuses to start without gateway-url; its command line
	// shows the lab gave it the gateway's URL.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", in.Services["payments"].PID))
	if err != nil {
		t.Fatal(err)
	}
	if want := "gateway-url=" + str(t, doc, "services", "gateway", "http"); !strings.Contains(string(cmdline), want) {
		t.Errorf("payments' command line lacks %s: %q", want, cmdline)
	}

	authURL, ticketsURL := str(t, doc, "services", "auth", "http"), str(t, doc, "services", "tickets", "http")
	resp := post(t, authURL+"/api/users/signup", nil, `{"email":"seller@test.dev","password":"password"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("signup set no session cookie")
	}
	var ticket struct {
		ID      string `json:"id"`
		Title   string `json:"title"`
		Version int    `json:"version"`
	}
	// tickets answers POST once its publisher is ready; poll for that.
	labtest.Eventually(t, 60*time.Second, func() error {
		resp := post(t, ticketsURL+"/api/tickets", session, `{"title":"concert","price":20}`)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("create ticket: %d %s", resp.StatusCode, body)
		}
		return json.Unmarshal(body, &ticket)
	})
	if ticket.ID == "" || ticket.Title != "concert" {
		t.Fatalf("created ticket %+v", ticket)
	}
	if resp := post(t, ticketsURL+"/api/tickets", nil, `{"title":"concert","price":20}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("create ticket without the cookie: %d, want 401", resp.StatusCode)
	}

	// A crowd through `tflab load`: every ticket listed, raced by two
	// buyers and won by one, the progress line on stderr, the record saved.
	out, stderr, code := runTflab(t, work, nil, "load", "--run-dir", u.runDir, "--set", "tickets=6", "--set", "users=4",
		"--set", "racers=2", "--set", "rate=20", "--seed", "9", "--json")
	if code != 0 {
		t.Fatalf("load exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	var loaded systemLoadReport
	if err := json.Unmarshal([]byte(out), &loaded); err != nil {
		t.Fatalf("load --json: %v\n%s", err, out)
	}
	kinds := map[string]kindTally{}
	for _, k := range loaded.Summary {
		kinds[k.Kind] = k
	}
	if kinds["ticket.create"].Accepted != 6 || kinds["order.place"].Accepted != 6 || kinds["order.place"].Refused != 6 ||
		!strings.Contains(stderr, "load: done") || loaded.File == "" {
		t.Errorf("load: %+v\nstderr:\n%s", loaded, stderr)
	}

	out, stderr, code = runTflab(t, work, nil, "down", "--run-dir", u.runDir)
	if code != 0 || !strings.Contains(out, "Stopped the lab") {
		t.Fatalf("down exit %d: %s %s", code, out, stderr)
	}
	select {
	case <-u.done:
	case <-time.After(60 * time.Second):
		t.Fatal("up did not exit after down")
	}
	if u.err != nil {
		t.Fatalf("up exited with %v after down", u.err)
	}
	pids := map[string]int{"broker": in.Broker.PID}
	for id, s := range in.Services {
		pids[id] = s.PID
	}
	for name, pid := range pids {
		if lab.ProcessState(pid) != "exited" {
			t.Errorf("%s (pid %d) survived down", name, pid)
		}
	}
	t.Logf("ticketsale up, signup → ticket, down in %s", time.Since(start).Round(100*time.Millisecond))
}

// post sends a JSON body with an optional session cookie; the body is
// read by the caller or closed at the end of the test.
func post(t *testing.T, url string, session *http.Cookie, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if session != nil {
		req.AddCookie(session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
