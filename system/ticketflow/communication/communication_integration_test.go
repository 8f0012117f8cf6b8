//go:build integration

package communication

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/tracing/otelamqp"
	"github.com/ticketflow-lab/tflab/tracing/spanfile"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

// startCommunication runs the service in-process until the test ends and
// returns its HTTP base URL once healthy.
func startCommunication(t *testing.T, unprotect ...string) string {
	t.Helper()
	base, _ := startCommunicationWithSpans(t, unprotect...)
	return base
}

// startCommunicationWithSpans is startCommunication that also returns the
// path of the instance's span file.
func startCommunicationWithSpans(t *testing.T, unprotect ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := service.Config{System: "ticketflow", Name: contracts.Communication.Name, Instance: 1, AMQPURL: labtest.AMQPURL(t),
		HTTPAddr: "127.0.0.1:0", DBPath: filepath.Join(dir, "communication.db"), SpanFile: filepath.Join(dir, "spans.jsonl"),
		RunDir: dir, Seed: 7, Unprotect: unprotect,
		Settings: map[string]string{"heartbeat": "2s", "confirm-timeout": "1s", "retry-delay": "200ms", "outbox-poll": "100ms",
			"metrics-interval": "0", "shutdown-timeout": "2s"}}
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := app.New(ctx, cfg, labtest.Logger(t), app.Spec{Service: contracts.Communication, Migrations: []store.Migrations{Migrations}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	Wire(rt)
	base := "http://" + rt.Addr()
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("communication stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("communication did not stop within 30 s")
		}
	})
	labtest.Eventually(t, 30*time.Second, func() error { return apptest.GetJSON(base+"/health", nil) })
	return base, cfg.SpanFile
}

// effectCommits counts the committed spans (handlings and commands) that
// recorded key in lab.effect.keys, and the spans that carry the
// absorbed-effect event for key: what the effect-exactly-once checker reads.
func effectCommits(t *testing.T, spanFile, key string) (recorded, absorbed int) {
	t.Helper()
	raw, err := os.ReadFile(spanFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r, err := spanfile.Decode(line)
		if err != nil {
			t.Fatalf("%s: %v", spanFile, err)
		}
		committed, keys := false, []string(nil)
		for _, kv := range r.Attrs {
			switch kv.Key {
			case otelamqp.LabTxOutcome:
				committed = kv.Value.AsString() == otelamqp.TxCommitted
			case otelamqp.LabEffectKeys:
				keys = kv.Value.AsStringSlice()
			}
		}
		if committed && slices.Contains(keys, key) {
			recorded++
		}
		for _, ev := range r.Events {
			if ev.Name != EventEffectAbsorbed {
				continue
			}
			for _, kv := range ev.Attrs {
				if kv.Key == "key" && kv.Value.AsString() == key {
					absorbed++
				}
			}
		}
	}
	return recorded, absorbed
}

func health(t *testing.T, base string) app.Health {
	t.Helper()
	var h app.Health
	if err := apptest.GetJSON(base+"/health", &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func channel(t *testing.T) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(labtest.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// publish sends m to its contract route n times with the same message id:
// the consumer sees one message delivered n times.
func publish(t *testing.T, ch *amqp.Channel, m contracts.Message, n int) messaging.Message {
	t.Helper()
	r, ok := contracts.RouteOf(m.MessageType())
	if !ok {
		r = contracts.Route{Exchange: contracts.ExchangeAlerting, RoutingKey: "lab.alert"}
	}
	msg := messaging.MustMessage(m.MessageType(), m)
	if v, ok := m.(contracts.Versioned); ok {
		msg = msg.WithAggregate(v.AggregateID(), int64(v.AggregateVersion()))
	}
	for range n {
		if err := ch.PublishWithContext(t.Context(), r.Exchange, r.RoutingKey, true, false, msg.Publishing(nil)); err != nil {
			t.Fatal(err)
		}
	}
	return msg
}

func closures(t *testing.T, base, ticket string) []Message {
	t.Helper()
	var r MessagesResponse
	if err := apptest.GetJSON(base+"/anonymous-users/messages?limit=100", &r); err != nil {
		t.Fatal(err)
	}
	var out []Message
	for _, m := range r.Data {
		if m.IdempotencyKey == ClosureKey(ticket) {
			out = append(out, m)
		}
	}
	return out
}

// TestClosureMessageExactlyOnce delivers one TicketResolved twice (same
// message id, as a redelivery or a republish after a lost confirm does):
// with the inbox on, the second delivery is absorbed as a duplicate; with
// the inbox off the handler runs twice and the unique idempotency key keeps
// one message; with both off the customer gets two closure messages. The
// spans record the closure effect key once per stored row only (an absorbed
// row is a span event, not an effect), so the exactly-once checker sees what
// the database holds.
func TestClosureMessageExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		unprotect              []string
		want                   int
		wantRecorded, absorbed int
	}{
		{"all protections", nil, 1, 1, 0},
		{"dedup off, idempotency on", []string{"dedup"}, 1, 1, 1},
		{"dedup and idempotency off", []string{"dedup", "idempotency"}, 2, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, spans := startCommunicationWithSpans(t, tc.unprotect...)
			ticket := labtest.UniqueName(t, "tkt")
			publish(t, channel(t), contracts.TicketResolved{TicketID: ticket, Version: 5, Status: contracts.StatusResolved,
				Resolution: "Restarted the router", Email: "anna@example.com", AssignedAgentUserID: "agent-1"}, 2)
			labtest.Eventually(t, 15*time.Second, func() error {
				h := health(t, base)
				if seen := h.Messages["handled"] + h.Messages["duplicates"]; seen < 2 {
					return fmt.Errorf("deliveries seen %d, want 2 (%v)", seen, h.Messages)
				}
				return nil
			})
			got := closures(t, base, ticket)
			if len(got) != tc.want {
				t.Fatalf("%d closure messages, want %d: %+v", len(got), tc.want, got)
			}
			m := got[0]
			if m.RecipentEmail != "anna@example.com" || m.SenderUserID != "agent-1" || m.Title != ClosureTitle ||
				!strings.Contains(m.Content, "Restarted the router") {
				t.Fatalf("closure message %+v", m)
			}
			h := health(t, base)
			if len(tc.unprotect) == 0 && (h.Messages["duplicates"] != 1 || h.Messages["handled"] != 1) {
				t.Fatalf("inbox on: %v, want 1 handled and 1 duplicate", h.Messages)
			}
			if len(tc.unprotect) > 0 && h.Messages["handled"] != 2 {
				t.Fatalf("inbox off: %v, want the handler to run twice", h.Messages)
			}
			// A handling's span is written right before its ack, so poll
			// until the expected spans are there, then require exact counts.
			var recorded, absorbed int
			labtest.Eventually(t, 10*time.Second, func() error {
				if recorded, absorbed = effectCommits(t, spans, ClosureKey(ticket)); recorded < tc.wantRecorded || absorbed < tc.absorbed {
					return fmt.Errorf("effect recorded %d, absorbed %d so far", recorded, absorbed)
				}
				return nil
			})
			if recorded != tc.wantRecorded || absorbed != tc.absorbed {
				t.Fatalf("effect %s recorded by %d committed spans and absorbed in %d, want %d and %d",
					ClosureKey(ticket), recorded, absorbed, tc.wantRecorded, tc.absorbed)
			}
		})
	}
}

// TestAlertsFromEveryProducer stores the incident alert from Tickets, an SLA
// breach, a keyless alert and an alert of a type contracts does not know
// (AnyAlert), each once however often it is delivered.
func TestAlertsFromEveryProducer(t *testing.T) {
	base := startCommunication(t)
	ch := channel(t)
	ticket := labtest.UniqueName(t, "tkt")
	publish(t, ch, contracts.IncidentCreated{TicketID: ticket, Version: 3, AlertMessageContent: "Incydent " + ticket,
		AlertType: contracts.AlertIncident, AlertKey: "incident:" + ticket}, 2)
	publish(t, ch, contracts.SLABreached{ServiceType: contracts.ServiceIncidentTicket, ServiceSourceID: ticket,
		AlertMessageContent: "SLA niespełnione " + ticket, AlertType: contracts.AlertSLA, AlertKey: "breach:" + ticket + ":1"}, 1)
	keyless := publish(t, ch, contracts.ProducerAgnosticAlertMessage{AlertMessageContent: "manual " + ticket, AlertType: "Lab"}, 2)
	foreign := messaging.Message{ID: labtest.UniqueName(t, "msg"), Type: "ThirdPartyBillingAlert",
		Body: []byte(`{"alertMessageContent":"billing ` + ticket + `","alertType":"Billing","alertKey":"billing:` + ticket + `"}`)}
	if err := ch.PublishWithContext(t.Context(), contracts.ExchangeAlerting, "billing.alert", true, false, foreign.Publishing(nil)); err != nil {
		t.Fatal(err)
	}
	want := []string{"alert:" + keyless.ID, "billing:" + ticket, "breach:" + ticket + ":1", "incident:" + ticket}
	labtest.Eventually(t, 15*time.Second, func() error {
		var as []Alert
		if err := apptest.GetJSON(base+"/alerts", &as); err != nil {
			return err
		}
		var keys []string
		for _, a := range as {
			keys = append(keys, a.IdempotencyKey)
		}
		slices.Sort(keys)
		if !reflect.DeepEqual(keys, want) {
			return fmt.Errorf("alerts %v, want %v", keys, want)
		}
		if h := health(t, base); h.Messages["handled"]+h.Messages["duplicates"] < 6 {
			return fmt.Errorf("deliveries seen: %v", h.Messages)
		}
		return nil
	})
	var as []Alert
	if err := apptest.GetJSON(base+"/alerts", &as); err != nil || len(as) != 4 {
		t.Fatalf("alerts after every delivery: %v %v", as, err)
	}
}

// TestPostMessages checks the validated POST /messages: 400 with a message
// on bad input, the stored id on success, and the same id for a repeated key.
func TestPostMessages(t *testing.T) {
	base := startCommunication(t)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+"/messages", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("POST %s: HTTP %d, body is not JSON: %v", body, resp.StatusCode, err)
		}
		return resp.StatusCode, out
	}
	for _, tc := range []struct{ body, wantMsg string }{
		{``, "empty"},
		{`{`, "invalid JSON"},
		{`{"title":"t","content":"c"}`, "recipient"},
		{`{"recipentEmail":"not an address","title":"t","content":"c"}`, "recipentEmail"},
		{`{"recipentUserId":"agent-1","content":"c"}`, "title"},
		{`{"recipentUserId":"agent-1","title":"t","content":"` + strings.Repeat("x", MaxContentLen+1) + `"}`, "content"},
	} {
		code, out := post(tc.body)
		msg, _ := out["message"].(string)
		if code != http.StatusBadRequest || !strings.Contains(msg, tc.wantMsg) {
			t.Errorf("POST %.60q: HTTP %d %v, want 400 mentioning %q", tc.body, code, out, tc.wantMsg)
		}
	}
	body := `{"recipentUserId":"agent-1","title":"Przypomnienie #1","content":"[Ticket - Incydent] t1","idempotencyKey":"reminder:t1:1"}`
	code, first := post(body)
	if code != http.StatusOK || first["inserted"] != true || first["id"] == "" {
		t.Fatalf("valid POST: HTTP %d %v", code, first)
	}
	code, again := post(body)
	if code != http.StatusOK || again["inserted"] != false || again["id"] != first["id"] {
		t.Fatalf("repeated key: HTTP %d %v, want the first id %v and inserted false", code, again, first["id"])
	}
	var r MessagesResponse
	if err := apptest.GetJSON(base+"/logged-users/agent-1/messages", &r); err != nil || r.Total != 1 {
		t.Fatalf("inbox: %+v %v", r, err)
	}
}
