//go:build integration

package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ticketflow-lab/tflab/internal/console"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/inquiries"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics/metricsvc"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketflow/translations"
)

// ticketflowEnv makes the test binary serve the real Ticketflow services.
const ticketflowEnv = "TFLAB_CONSOLE_TEST_TICKETFLOW"

// ticketflowMains are the services the test binary can serve, by name.
var ticketflowMains = map[string]service.Main{
	contracts.Translations.Name:  translations.Main,
	contracts.Tickets.Name:       tickets.Main,
	contracts.Inquiries.Name:     inquiries.Main,
	contracts.Communication.Name: communication.Main,
	contracts.SLA.Name:           sla.Main,
	contracts.Metrics.Name:       metricsvc.Main,
}

// TestTicketflowUIsInBrowser drives the portal, the desk and the admin
// panel of a real Ticketflow lab (two Tickets instances) in headless
// Chromium: an inquiry submitted in the portal becomes a ticket the desk
// qualifies, assigns and resolves, after which the portal shows exactly one
// closure message; an anomaly tile enables an anomaly on every Tickets
// instance's GET /anomalies, then disables it everywhere.
func TestTicketflowUIsInBrowser(t *testing.T) {
	tb := openTab(t, 8*time.Minute)
	// The order of `tflab up`: each service's consumers are up before the
	// next one publishes to them.
	l, _, runs := browserLab(t, []lab.ServiceSpec{{Name: "translations"}, {Name: "tickets", Instances: 2}, {Name: "inquiries"},
		{Name: "communication"}, {Name: "sla"}, {Name: "metrics"}}, []string{ticketflowEnv + "=1"}, 11, 120*time.Second)
	c, err := console.New(console.Config{Info: l.Info, Vocabulary: ticketflow.System().Vocabulary, RunsRoot: runs, Log: labtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	base, err := c.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := tb.ctx
	do, text, until := tb.do, tb.text, tb.until

	var inquiryID string
	t.Run("portal: a bad submission shows its reasons, a good one is sent", func(t *testing.T) {
		defer tb.screenshot(t, "portal-submit")
		do(t,
			chromedp.Navigate(base+"/portal/submit-inquiry"),
			chromedp.SetValue(chromedp.CSS(`#inquiry-title`), "Cannot log in"),
			chromedp.SetValue(chromedp.CSS(`#inquiry-name`), "Ann Smith"),
			chromedp.SetValue(chromedp.CSS(`#inquiry-email`), "ann.smith"),
			chromedp.Click(chromedp.CSS(`#submit-inquiry`)),
		)
		if reason := text(t, `#error-inquiry-description`); !strings.Contains(reason, "description is required") {
			t.Fatalf("description reason %q", reason)
		}
		if reason := text(t, `#error-inquiry-email`); !strings.Contains(reason, "not a valid e-mail address") {
			t.Fatalf("email reason %q", reason)
		}
		do(t,
			chromedp.SetValue(chromedp.CSS(`#inquiry-email`), "ann.smith@example.com"),
			chromedp.SetValue(chromedp.CSS(`#inquiry-description`), "The login page says my password is wrong although I reset it yesterday."),
			chromedp.Click(chromedp.CSS(`#submit-inquiry`)),
		)
		sent := text(t, `#submitted`)
		inquiryID = strings.TrimSuffix(strings.TrimPrefix(sent, "Inquiry "), " sent.")
		if inquiryID == "" || strings.Contains(inquiryID, " ") {
			t.Fatalf("confirmation %q", sent)
		}
		do(t, chromedp.WaitVisible(chromedp.CSS(`#inquiry-`+inquiryID)))
	})
	if inquiryID == "" {
		t.FailNow()
	}
	ticket := `#ticket-` + inquiryID // the ticket's id is the inquiry's

	t.Run("desk: qualify, assign and resolve the ticket", func(t *testing.T) {
		defer tb.screenshot(t, "desk")
		do(t, chromedp.Navigate(base+"/desk/tickets-list"), chromedp.WaitVisible(chromedp.CSS(`#choose-agent`)))
		sup := tickets.SeedAgents()[0]
		do(t, chromedp.SetValue(chromedp.CSS(`#work-as`), sup.ID), chromedp.Click(chromedp.CSS(`#work-as-go`)))
		if me := text(t, `#me`); !strings.Contains(me, sup.FullName) {
			t.Fatalf("working as %q", me)
		}
		// The ticket appears once Tickets handled InquirySubmitted; Refresh
		// asks again at most once a second.
		until(t, "the ticket in the desk", fmt.Sprintf(`(() => {
			if (document.querySelector(%q)) return true;
			if (!window.lastRefresh || Date.now() - window.lastRefresh > 1000) {
				window.lastRefresh = Date.now();
				document.getElementById("refresh-tickets").click();
			}
			return false;
		})()`, ticket), 90*time.Second)
		status := func(want contracts.TicketStatus) {
			t.Helper()
			until(t, "status "+string(want), fmt.Sprintf(`document.querySelector(%q)?.dataset.status === %q`, ticket, want), 30*time.Second)
		}
		// A click before htmx has taken over a swapped-in form would post it
		// natively and navigate away: wait for htmx before each action.
		htmxOn := func(button string) {
			t.Helper()
			until(t, "htmx to take over the form of "+button, fmt.Sprintf(`document.querySelector(%q)?.form?.["htmx-internal-data"] !== undefined`, ticket+" "+button), 20*time.Second)
		}
		status(contracts.StatusBeforeQualification)
		htmxOn(".do-qualify")
		do(t,
			chromedp.SetValue(chromedp.CSS(ticket+` .ticketType`), "Question"),
			chromedp.SetValue(chromedp.CSS(ticket+` .severityLevel`), "Low"),
			chromedp.Click(chromedp.CSS(ticket+` .do-qualify`)),
		)
		status(contracts.StatusQualified)
		agent := tickets.SeedAgents()[1]
		htmxOn(".do-assign")
		do(t,
			chromedp.SetValue(chromedp.CSS(ticket+` select.agentId`), agent.ID),
			chromedp.Click(chromedp.CSS(ticket+` .do-assign`)),
			chromedp.WaitVisible(chromedp.CSS(ticket+` .do-resolve`)),
		)
		htmxOn(".do-resolve")
		do(t, chromedp.Click(chromedp.CSS(ticket+` .do-resolve`))) // no resolution yet
		if reason := text(t, ticket+` .resolution-error`); reason != "resolution is required" {
			t.Fatalf("empty resolution: %q", reason)
		}
		htmxOn(".do-resolve")
		do(t,
			chromedp.SetValue(chromedp.CSS(ticket+` .resolution-input`), "password reset link sent again"),
			chromedp.Click(chromedp.CSS(ticket+` .do-resolve`)),
		)
		status(contracts.StatusResolved)
	})

	t.Run("desk: the live-metrics widget shows the services' ticks", func(t *testing.T) {
		defer tb.screenshot(t, "desk-metrics")
		do(t, chromedp.Navigate(base+"/desk/tickets-list"))
		until(t, "ticks of several services", `document.querySelectorAll("#metrics-table tr.metric").length >= 3`, 60*time.Second)
		if conn := text(t, `#metrics-conn`); conn != "connected" {
			t.Fatalf("widget %q", conn)
		}
	})

	t.Run("portal: exactly one closure message, comments on the ticket", func(t *testing.T) {
		defer tb.screenshot(t, "portal-messages")
		closures := fmt.Sprintf(`Array.from(document.querySelectorAll("#messages li.message")).filter(li =>
			li.querySelector(".title").textContent === %q && li.querySelector(".content").textContent.includes(%q)).length`,
			communication.ClosureTitle, inquiryID)
		do(t, chromedp.Navigate(base+"/portal/inquiries-list"))
		until(t, "the closure message", closures+` >= 1`, 60*time.Second)
		// The list refreshes every 3 s: a second copy would show within two.
		for i := range 3 {
			marker := fmt.Sprintf("seen-%d", i)
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById("messages").dataset.marker = %q`, marker))); err != nil {
				t.Fatal(err)
			}
			until(t, "a refresh of the messages", fmt.Sprintf(`document.getElementById("messages").dataset.marker !== %q`, marker), 20*time.Second)
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](closures))
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("after %d refreshes the portal shows %d closure messages for ticket %s", i+1, n, inquiryID)
			}
		}
		row := `#inquiry-` + inquiryID
		do(t,
			chromedp.Click(chromedp.CSS(row+` .inquiry-details summary`)),
			chromedp.WaitVisible(chromedp.CSS(row+` .note-input`)),
		)
		// A click before htmx has taken over the swapped-in form would post
		// it natively and navigate away.
		notesForm := fmt.Sprintf(`document.querySelector(%q)`, row+` .notes form`)
		until(t, "htmx to take over the comment form", notesForm+`?.["htmx-internal-data"] !== undefined`, 20*time.Second)
		do(t, chromedp.Click(chromedp.CSS(row+` .add-note`))) // empty
		if reason := text(t, row+` .note-error`); reason != "note is required" {
			t.Fatalf("empty note: %q", reason)
		}
		until(t, "htmx to take over the answered comment form", notesForm+`?.["htmx-internal-data"] !== undefined`, 20*time.Second)
		do(t, chromedp.SetValue(chromedp.CSS(row+` .note-input`), "Thanks, it works now."), chromedp.Click(chromedp.CSS(row+` .add-note`)))
		until(t, "the comment", fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).some(li => li.textContent.includes("Thanks, it works now."))`, row+` li.note`), 20*time.Second)
	})

	t.Run("admin: a tile enables an anomaly on every instance, then disables it", func(t *testing.T) {
		defer tb.screenshot(t, "admin")
		ids := []string{}
		for _, id := range l.Info().IDs() {
			if l.Info().Services[id].Service == "tickets" {
				ids = append(ids, id)
			}
		}
		if len(ids) != 2 {
			t.Fatalf("tickets instances %v", ids)
		}
		held := func(t *testing.T) map[string]int {
			t.Helper()
			out := map[string]int{}
			for _, id := range ids {
				resp, err := http.Get(l.Info().Services[id].HTTP + "/anomalies")
				if err != nil {
					t.Fatal(err)
				}
				var vs []struct{ AnomalyType, MessageType string }
				err = json.NewDecoder(resp.Body).Decode(&vs)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					if v.AnomalyType == "ConsumerDelayAfterHandler" && v.MessageType == "TicketQualified" {
						out[id]++
					}
				}
			}
			return out
		}
		tile := `#tile-tickets`
		do(t,
			chromedp.Navigate(base+"/admin/applications-list"),
			chromedp.SetValue(chromedp.CSS(tile+` select.anomalyType`), "ConsumerDelayAfterHandler"),
			chromedp.SetValue(chromedp.CSS(tile+` select.messageType`), "TicketQualified"),
			chromedp.Click(chromedp.CSS(tile+` button.enable`)), // no DelayInMs
		)
		if reason := text(t, tile+` [data-field="DelayInMs"]`); !strings.Contains(reason, "DelayInMs is required") {
			t.Fatalf("missing delay: %q", reason)
		}
		if h := held(t); len(h) != 0 {
			t.Fatalf("a refused form enabled %v", h)
		}
		do(t,
			chromedp.SetValue(chromedp.CSS(tile+` input.DelayInMs`), "300"),
			chromedp.Click(chromedp.CSS(tile+` button.enable`)),
			chromedp.WaitVisible(chromedp.CSS(tile+` tr.anomaly`)),
		)
		if on := text(t, tile+` tr.anomaly td:nth-child(4)`); on != "2/2" {
			t.Fatalf("the tile says %q instances", on)
		}
		if h := held(t); h[ids[0]] != 1 || h[ids[1]] != 1 {
			t.Fatalf("GET /anomalies per instance after enable: %v", h)
		}
		do(t, chromedp.Click(chromedp.CSS(tile+` button.disable`)), chromedp.WaitVisible(chromedp.CSS(tile+` .none`)))
		if h := held(t); len(h) != 0 {
			t.Fatalf("GET /anomalies per instance after disable: %v", h)
		}
	})
}
