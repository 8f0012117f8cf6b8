package console

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
)

func TestAvatarDrawsInitialsLocally(t *testing.T) {
	for name, want := range map[string]string{
		"Bogusław Złotówa": "BZ", "ann": "A", "Jan van der Berg": "JB", "": "?", "  ": "?", "<b>&": "B", "&&": "?",
	} {
		if got := initials(name); got != want {
			t.Errorf("initials(%q) = %q, want %q", name, got, want)
		}
	}
	c := sutConsole(t, nil)
	rec := get(c.Handler(), "/desk/avatar?name="+url.QueryEscape("Ann <Smith> & Co"))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	if err := xml.Unmarshal([]byte(body), new(struct{})); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, body)
	}
	if !strings.Contains(body, `>AC</text>`) || !strings.Contains(body, `aria-label="Ann &lt;Smith&gt; &amp; Co"`) {
		t.Fatalf("avatar %s", body)
	}
	if avatarSVG("Ann Smith") != avatarSVG("Ann Smith") {
		t.Fatal("the same name drew two avatars")
	}
}

// The desk shows the assignee's avatar from the console, not the
// agent's external avatarUrl.
func TestDeskShowsLocalAvatars(t *testing.T) {
	var rec recorder
	c := sutConsole(t, map[string]lab.ServiceInfo{"tickets": {Service: "tickets", Instance: 1, HTTP: deskStub(t, &rec).URL}})
	res := get(c.Handler(), "/desk/tickets-list")
	agent := tickets.SeedAgents()[1]
	if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `src="/desk/avatar?name=`+strings.Fields(agent.FullName)[0]+`%20`) {
		t.Fatalf("%d: the assignee's local avatar is missing:\n%s", res.Code, res.Body)
	}
	if strings.Contains(res.Body.String(), "dicebear") {
		t.Fatal("the desk loads an external avatar")
	}
}
