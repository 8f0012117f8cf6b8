//go:build integration

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/internal/toxihost"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// echo wires a Translations instance whose handler completes every request
// with the text upper-cased: the smallest real service for runtime tests.
func echo(rt *app.Runtime) error {
	rt.Handle(contracts.QueueRequestTranslationV2, contracts.TypeRequestTranslationV2,
		func(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
			m := msg.(contracts.RequestTranslationV2)
			return tx.Publish(ctx, contracts.TranslationCompleted{ReferenceID: m.ReferenceID, TranslatedText: strings.ToUpper(m.Text)})
		})
	return nil
}

func TestAnomalyChangeReachesEveryInstance(t *testing.T) {
	vh := apptest.NewVHost(t)
	one := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{Instance: 1})
	two := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{Instance: 2})

	code, body := one.Do(t, http.MethodPost, "/anomalies", anomaly.Request{AnomalyType: "ConsumerDelayBeforeHandler",
		MessageType: contracts.TypeRequestTranslationV2, AdditionalParams: map[string]string{"DelayInMs": "250"}})
	if code != http.StatusOK {
		t.Fatalf("POST /anomalies on instance 1: %d %s", code, body)
	}
	list := func(in *apptest.Instance) ([]anomaly.View, error) {
		code, body := in.Do(t, http.MethodGet, "/anomalies", nil)
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET /anomalies: %d %s", code, body)
		}
		var vs []anomaly.View
		return vs, json.Unmarshal(body, &vs)
	}
	labtest.Eventually(t, 10*time.Second, func() error {
		vs, err := list(two)
		if err != nil {
			return err
		}
		if len(vs) != 1 || vs[0].AnomalyType != "ConsumerDelayBeforeHandler" || vs[0].Params["DelayInMs"] != "250" {
			return fmt.Errorf("instance 2 shows %+v", vs)
		}
		return nil
	})
	code, body = two.Do(t, http.MethodDelete, "/anomalies/consumerdelaybeforehandler/messages/"+contracts.TypeRequestTranslationV2, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"removed":true`) {
		t.Fatalf("DELETE on instance 2: %d %s", code, body)
	}
	labtest.Eventually(t, 10*time.Second, func() error {
		vs, err := list(one)
		if err != nil {
			return err
		}
		if len(vs) != 0 {
			return fmt.Errorf("instance 1 still shows %+v", vs)
		}
		return nil
	})
}

func TestRuntimeRoutesAndBadInput(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{})

	code, body := in.Do(t, http.MethodGet, "/health", nil)
	var h app.Health
	if err := json.Unmarshal(body, &h); err != nil || code != http.StatusOK {
		t.Fatalf("health: %d %s %v", code, body, err)
	}
	if h.Status != "Healthy" || !h.AMQP.Connected || !h.DB.OK || h.Service != "translations" || h.Protections != "all on" {
		t.Fatalf("health body %+v", h)
	}

	code, body = in.Do(t, http.MethodPost, "/lab/clock", `{"offsetMs": -90000}`)
	var c runtime.ClockBody
	if err := json.Unmarshal(body, &c); err != nil || code != http.StatusOK || c.OffsetMs != -90000 {
		t.Fatalf("set clock: %d %s", code, body)
	}
	if skew := time.Until(c.Now); skew > -80*time.Second || skew < -100*time.Second {
		t.Fatalf("clock now %v is not 90s behind", c.Now)
	}
	if got := in.RT.Clock().Now(); time.Until(got) > -80*time.Second {
		t.Fatalf("runtime clock not skewed: %v", got)
	}

	for _, tc := range []struct{ method, path, body, want string }{
		{http.MethodPost, "/anomalies", `{"anomalyType":"Meltdown","messageType":"X"}`, "unknown anomaly type"},
		{http.MethodPost, "/anomalies", `{"anomalyType":"ConsumerDelayAfterHandler","messageType":"X"}`, "DelayInMs"},
		{http.MethodPost, "/anomalies", `{not json`, ""},
		{http.MethodDelete, "/anomalies/Nope/messages/X", "", "unknown anomaly type"},
		{http.MethodPost, "/lab/clock", `{}`, "offsetMs"},
		{http.MethodPost, "/lab/clock", `{"offsetMs":"soon"}`, ""},
	} {
		code, body := in.Do(t, tc.method, tc.path, tc.body)
		var e struct{ Message string }
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Message == "" || !strings.Contains(e.Message, tc.want) {
			t.Errorf("%s %s %s: %d %s, want 400 with a message containing %q", tc.method, tc.path, tc.body, code, body, tc.want)
		}
	}

	req, _ := http.NewRequest(http.MethodOptions, in.URL+"/anomalies", nil)
	req.Header.Set("Origin", "http://localhost:21002")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}
}

func TestHandlerPublishesThroughOutboxWithSeededIDs(t *testing.T) {
	vh := apptest.NewVHost(t)
	got := vh.Capture(t, contracts.ExchangeTranslationCompleted, "")
	in := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{Seed: 7})
	vh.Publish(t, contracts.RequestTranslationV2{Text: "dzień dobry", LanguageCode: "pl", ReferenceID: "ref-1"})
	select {
	case d := <-got:
		var m contracts.TranslationCompleted
		if err := json.Unmarshal(d.Body, &m); err != nil || m.ReferenceID != "ref-1" || m.TranslatedText != "DZIEŃ DOBRY" {
			t.Fatalf("published %s: %+v %v", d.Body, m, err)
		}
		if d.Type != contracts.TypeTranslationCompleted || d.MessageId == "" {
			t.Fatalf("envelope type %q id %q", d.Type, d.MessageId)
		}
		var n int
		if err := in.RT.DB().QueryRow(t.Context(), `SELECT COUNT(*) FROM outbox WHERE message_id = ?`, d.MessageId).Scan(&n); err != nil || n != 1 {
			t.Fatalf("outbox rows for %s: %d %v", d.MessageId, n, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no TranslationCompleted published")
	}
}

func TestRunRefusesUnhandledAcceptedTypes(t *testing.T) {
	vh := apptest.NewVHost(t)
	cfg := service.Config{System: "ticketflow", Name: "tickets", Instance: 1, AMQPURL: vh.AMQPURL, HTTPAddr: "127.0.0.1:0",
		DBPath: t.TempDir() + "/db.sqlite", Settings: apptest.Defaults()}
	rt, err := app.New(t.Context(), cfg, labtest.Logger(t), app.Spec{Service: contracts.Tickets})
	if err != nil {
		t.Fatal(err)
	}
	err = rt.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no handler for "+contracts.TypeInquirySubmitted) {
		t.Fatalf("Run = %v, want a missing-handler error", err)
	}
	if _, err := app.New(t.Context(), cfg, nil, app.Spec{Service: contracts.Inquiries}); err == nil {
		t.Fatal("a spec for another service than cfg.Name was accepted")
	}
}

// With the outbox off a handler's publish leaves inside the transaction (the
// default, as the original): ConsumerErrorAfterHandler rolls every attempt
// back, yet every attempt's TranslationCompleted is on the broker (ghost
// events, duplicated by each redelivery). Publishing after the commit, or
// with the outbox on, nothing leaves.
func TestOutboxOffGhostsWithDirectPublishInTx(t *testing.T) {
	for _, tc := range []struct {
		name      string
		unprotect []string
		settings  map[string]string
		ghosts    int
	}{
		{"outbox off in-tx", []string{"outbox"}, nil, 3},
		{"outbox off after-commit", []string{"outbox"}, map[string]string{app.SettingDirectPublish: "after-commit"}, 0},
		{"outbox on", nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vh := apptest.NewVHost(t)
			got := vh.Capture(t, contracts.ExchangeTranslationCompleted, "")
			in := apptest.Start(t, vh, contracts.Translations, echo, apptest.Options{Unprotect: tc.unprotect, Settings: tc.settings})
			code, body := in.Do(t, http.MethodPost, "/anomalies", anomaly.Request{AnomalyType: "ConsumerErrorAfterHandler",
				MessageType: contracts.TypeRequestTranslationV2})
			if code != http.StatusOK {
				t.Fatalf("POST /anomalies: %d %s", code, body)
			}
			labtest.Eventually(t, 10*time.Second, func() error {
				if len(in.RT.Anomalies().List()) == 0 {
					return fmt.Errorf("anomaly not applied yet")
				}
				return nil
			})
			vh.Publish(t, contracts.RequestTranslationV2{Text: "cześć", LanguageCode: "pl", ReferenceID: "ghost"})
			labtest.Eventually(t, 15*time.Second, func() error {
				if n := in.RT.Bus().Stats().DeadLettered; n != 1 {
					return fmt.Errorf("dead-lettered %d, want 1", n)
				}
				return nil
			})
			// The next request, without the anomaly, is the marker: whatever
			// arrives before it came from the failed attempts.
			code, body = in.Do(t, http.MethodDelete, "/anomalies/ConsumerErrorAfterHandler/messages/"+contracts.TypeRequestTranslationV2, nil)
			if code != http.StatusOK {
				t.Fatalf("DELETE /anomalies: %d %s", code, body)
			}
			labtest.Eventually(t, 10*time.Second, func() error {
				if len(in.RT.Anomalies().List()) != 0 {
					return fmt.Errorf("anomaly not removed yet")
				}
				return nil
			})
			vh.Publish(t, contracts.RequestTranslationV2{Text: "dzień dobry", LanguageCode: "pl", ReferenceID: "marker"})
			ghosts := 0
			for done := false; !done; {
				select {
				case d := <-got:
					var m contracts.TranslationCompleted
					if err := json.Unmarshal(d.Body, &m); err != nil {
						t.Fatal(err)
					}
					switch m.ReferenceID {
					case "ghost":
						ghosts++
					case "marker":
						done = true
					}
				case <-time.After(15 * time.Second):
					t.Fatalf("marker not published (%d ghosts so far)", ghosts)
				}
			}
			if ghosts != tc.ghosts || in.RT.Bus().Stats().Ghosts != int64(tc.ghosts) {
				t.Fatalf("%d ghost TranslationCompleted on the broker (Stats.Ghosts %d), want %d", ghosts, in.RT.Bus().Stats().Ghosts, tc.ghosts)
			}
		})
	}
}

// An HTTP command continues the caller's trace: the request's traceparent,
// in the form the workload sends ("00-<trace id>-<span id>-01",
// scenarios/workload client.do), is the parent of the command span in the
// service's span file, and a message the command publishes stays in that trace.
func TestHTTPCommandContinuesTheCallersTrace(t *testing.T) {
	vh := apptest.NewVHost(t)
	got := vh.Capture(t, contracts.ExchangeTranslationCompleted, "")
	in := apptest.Start(t, vh, contracts.Translations, func(rt *app.Runtime) error {
		rt.HandleFunc("POST /test/command", func(w http.ResponseWriter, r *http.Request) {
			err := rt.Exec(r.Context(), "TestCommand", "", func(ctx context.Context, tx *app.Tx) error {
				return tx.Publish(ctx, contracts.TranslationCompleted{ReferenceID: "traced", TranslatedText: "x"})
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		return echo(rt)
	}, apptest.Options{})
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, in.URL+"/test/command", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("command: %s", resp.Status)
	}
	select {
	case d := <-got:
		tp, _ := d.Headers["traceparent"].(string)
		if !strings.HasPrefix(tp, "00-"+traceID+"-") {
			t.Fatalf("published message traceparent %q, want trace %s", tp, traceID)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the command's message was not published")
	}
	var cmd *spanfile.Record
	for _, r := range readSpans(t, in.Config.SpanFile) {
		if r.Name == "command TestCommand" {
			cmd = &r
		}
	}
	if cmd == nil {
		t.Fatal("no command span in the span file")
	}
	if cmd.TraceID.String() != traceID || cmd.ParentSpanID.String() != parentID {
		t.Fatalf("command span in trace %s with parent %s, want trace %s parent %s", cmd.TraceID, cmd.ParentSpanID, traceID, parentID)
	}
}

func readSpans(t *testing.T, path string) []spanfile.Record {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []spanfile.Record
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r, err := spanfile.Decode(line)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out
}

// GET /health reports the AMQP link as it is now: a Toxiproxy outage turns
// it 503 with amqp.connected false, and it is 200 again once the bus
// reconnected.
func TestHealthFollowsTheBrokerLink(t *testing.T) {
	vh := apptest.NewVHost(t)
	h, err := toxihost.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	u, err := url.Parse(vh.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	listen, err := h.AddProxy("translations", "127.0.0.1:0", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := h.Client().Proxy("translations")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = listen
	in := apptest.Start(t, apptest.VHost{Name: vh.Name, AMQPURL: u.String()}, contracts.Translations, echo, apptest.Options{})
	health := func(wantCode int, wantConnected bool) func() error {
		return func() error {
			code, body := in.Do(t, http.MethodGet, "/health", nil)
			var hb app.Health
			if err := json.Unmarshal(body, &hb); err != nil {
				return err
			}
			if code != wantCode || hb.AMQP.Connected != wantConnected || !hb.DB.OK {
				return fmt.Errorf("health %d connected=%v db=%v, want %d connected=%v", code, hb.AMQP.Connected, hb.DB.OK, wantCode, wantConnected)
			}
			return nil
		}
	}
	labtest.Eventually(t, 10*time.Second, health(http.StatusOK, true))
	if err := proxy.Disable(); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 10*time.Second, health(http.StatusServiceUnavailable, false))
	if err := proxy.Enable(); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 30*time.Second, health(http.StatusOK, true))
}

// On a real broker, SLABreached reaches Communication's alert queue and not
// tickets-sla-changes, which receives only what Tickets consumes.
func TestSLABreachedDoesNotReachTickets(t *testing.T) {
	vh := apptest.NewVHost(t)
	vh.Declare(t)
	vh.Publish(t, contracts.SLABreached{ServiceSourceID: "t-1", AlertMessageContent: "late", AlertType: contracts.AlertSLA, AlertKey: "breach:t-1:1"})
	vh.Publish(t, contracts.DeadlinesCalculated{ServiceSourceID: "t-1", Revision: 1, DeadlineUTC: time.Now()})
	labtest.Eventually(t, 5*time.Second, func() error {
		if n := vh.Depth(t, contracts.QueueCommunicationAlerts); n != 1 {
			return fmt.Errorf("%d messages in %s, want the alert", n, contracts.QueueCommunicationAlerts)
		}
		return nil
	})
	ch := vh.Channel(t)
	var types []string
	for range 10 {
		d, ok, err := ch.Get(contracts.QueueTicketsSLAChanges, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		types = append(types, d.Type)
	}
	if len(types) != 1 || types[0] != contracts.TypeDeadlinesCalculated {
		t.Fatalf("%s holds %v, want only %s", contracts.QueueTicketsSLAChanges, types, contracts.TypeDeadlinesCalculated)
	}
}
