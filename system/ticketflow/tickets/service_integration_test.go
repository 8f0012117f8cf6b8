//go:build integration

package tickets_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

var (
	inquiryQueue = contracts.QueueInquirySubmittedTickets
	inquiryDLQ   = messaging.DeadLetterQueueName(contracts.QueueInquirySubmittedTickets)
)

func start(t *testing.T, vh apptest.VHost, o apptest.Options) *apptest.Instance {
	t.Helper()
	o.Migrations = []store.Migrations{tickets.Migrations}
	return apptest.Start(t, vh, contracts.Tickets, tickets.Wire, o)
}

func inquiry(id, lang string) contracts.InquirySubmitted {
	return contracts.InquirySubmitted{ID: id, Name: "Jan Kowalski", Email: "jan@example.pl", Title: "Faktura",
		Description: "Nie mogę pobrać faktury", Category: contracts.CategoryBilling, LanguageCode: lang,
		CreatedAt: time.Now().UTC().Truncate(time.Second)}
}

// ticket loads a ticket row through the service's own store.
func ticket(t *testing.T, in *apptest.Instance, id string) (*tickets.Ticket, error) {
	t.Helper()
	return tickets.NewSQLQueries(in.RT.DB()).Ticket(t.Context(), id)
}

func count(t *testing.T, in *apptest.Instance, query string, args ...any) int {
	t.Helper()
	var n int
	if err := in.RT.DB().QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func enable(t *testing.T, in *apptest.Instance, typ anomaly.Type, msgType string, params map[string]string) {
	t.Helper()
	code, body := in.Do(t, http.MethodPost, "/anomalies", anomaly.Request{AnomalyType: string(typ), MessageType: msgType, AdditionalParams: params})
	if code != http.StatusOK {
		t.Fatalf("enable %s on %s: %d %s", typ, msgType, code, body)
	}
}

func receive(t *testing.T, ch <-chan amqp.Delivery, wait time.Duration) amqp.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(wait):
		t.Fatalf("nothing received within %v", wait)
		return amqp.Delivery{}
	}
}

func TestInquirySubmittedCreatesTicketAndPublishesTicketCreated(t *testing.T) {
	vh := apptest.NewVHost(t)
	created := vh.Capture(t, contracts.ExchangeTickets, contracts.KeyTicketCreated)
	in := start(t, vh, apptest.Options{})
	msgID := vh.Publish(t, inquiry("q-1", "pl"))

	d := receive(t, created, 15*time.Second)
	var ev contracts.TicketCreated
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev.ID != "q-1" || ev.Version != 1 {
		t.Fatalf("TicketCreated %s: %+v %v", d.Body, ev, err)
	}
	if d.Type != contracts.TypeTicketCreated || d.Headers[messaging.HeaderAggregateID] != "q-1" || d.Headers[messaging.HeaderCausationID] != msgID {
		t.Fatalf("envelope: type %q headers %v", d.Type, d.Headers)
	}
	tk, err := ticket(t, in, "q-1")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != contracts.StatusWaitingForScheduledAction || tk.Version != 1 || tk.LanguageCode != "pl" || tk.Email != "jan@example.pl" {
		t.Fatalf("ticket row %+v", tk)
	}
	// The same inquiry again (a new message id, so no dedup): business
	// idempotency, no second TicketCreated.
	vh.Publish(t, inquiry("q-1", "pl"))
	labtest.Eventually(t, 10*time.Second, func() error {
		if n := count(t, in, `SELECT COUNT(*) FROM inbox WHERE queue = ?`, inquiryQueue); n != 2 {
			return fmt.Errorf("%d inquiries handled", n)
		}
		return nil
	})
	if n := count(t, in, `SELECT COUNT(*) FROM outbox WHERE type = ?`, contracts.TypeTicketCreated); n != 1 {
		t.Fatalf("%d TicketCreated in the outbox, want 1", n)
	}
}

func TestTranslationParkedBeforeTheTicketIsAttachedOnCreation(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	vh.Publish(t, contracts.TranslationCompleted{ReferenceID: "q-2", TranslatedText: "I cannot download the invoice"})
	labtest.Eventually(t, 10*time.Second, func() error {
		p, ok, err := tickets.NewSQLQueries(in.RT.DB()).Parked(t.Context(), "q-2")
		if err != nil || !ok || p.TranslatedText != "I cannot download the invoice" {
			return fmt.Errorf("parked %+v %v %v", p, ok, err)
		}
		return nil
	})
	vh.Publish(t, inquiry("q-2", "pl"))
	labtest.Eventually(t, 10*time.Second, func() error {
		tk, err := ticket(t, in, "q-2")
		if err != nil {
			return err
		}
		if tk.Status != contracts.StatusBeforeQualification || tk.TranslatedDescription != "I cannot download the invoice" {
			return fmt.Errorf("ticket %+v", tk)
		}
		return nil
	})
	if _, ok, _ := tickets.NewSQLQueries(in.RT.DB()).Parked(t.Context(), "q-2"); ok {
		t.Fatal("the parked translation was not removed")
	}
	// A skip for an existing waiting ticket ends the wait.
	vh.Publish(t, inquiry("q-3", "de"))
	labtest.Eventually(t, 10*time.Second, func() error { _, err := ticket(t, in, "q-3"); return err })
	vh.Publish(t, contracts.TranslationSkipped{ReferenceID: "q-3"})
	labtest.Eventually(t, 10*time.Second, func() error {
		tk, err := ticket(t, in, "q-3")
		if err != nil || tk.Status != contracts.StatusBeforeQualification {
			return fmt.Errorf("ticket %+v %v", tk, err)
		}
		return nil
	})
}

func TestDeskCommandsOverHTTP(t *testing.T) {
	vh := apptest.NewVHost(t)
	events := vh.Capture(t, contracts.ExchangeTickets, "#")
	in := start(t, vh, apptest.Options{})
	vh.Publish(t, inquiry("q-4", "en"))
	receive(t, events, 15*time.Second) // TicketCreated

	for _, tc := range []struct{ path, body string }{
		{"/tickets/q-4/qualify", `{"ticketType":"Sandwich","severityLevel":"High"}`},
		{"/tickets/q-4/qualify", `{"ticketType":`},
		{"/tickets/q-4/block/reason", ``}, // not qualified yet: invalid transition
		{"/tickets/q-4/assign/00000000-0000-0000-0000-000000000009", ``},
	} {
		code, body := in.Do(t, http.MethodPost, tc.path, tc.body)
		var e struct{ Message string }
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Message == "" {
			t.Errorf("POST %s %s: %d %s, want 400 with a message", tc.path, tc.body, code, body)
		}
	}
	if code, body := in.Do(t, http.MethodPost, "/tickets/q-4/qualify", `{"ticketType":"Incident","severityLevel":"High"}`); code != http.StatusOK {
		t.Fatalf("qualify: %d %s", code, body)
	}
	want := []string{contracts.TypeTicketQualified, contracts.TypeIncidentCreated}
	for i, w := range want {
		d := receive(t, events, 10*time.Second)
		if d.Type != w || d.Headers[messaging.HeaderAggregateVersion] != int64(i+2) {
			t.Fatalf("event %d: %s v%v, want %s v%d", i, d.Type, d.Headers[messaging.HeaderAggregateVersion], w, i+2)
		}
	}
	if code, body := in.Do(t, http.MethodGet, "/tickets/q-4", nil); code != http.StatusOK || !strings.Contains(string(body), `"status":"Qualified"`) {
		t.Fatalf("GET ticket: %d %s", code, body)
	}
	if code, body := in.Do(t, http.MethodGet, "/tickets/?status=Qualified", nil); code != http.StatusOK || !strings.Contains(string(body), `"totalCount":1`) {
		t.Fatalf("GET list: %d %s", code, body)
	}
}

// --- the nine in-app anomaly types (spec §8.6), each with its documented
// effect on Tickets, all protections on (outbox, dedup, retries + DLQ).

// deadLettered waits until the inquiry's message sits in the DLQ.
func deadLettered(t *testing.T, vh apptest.VHost) {
	t.Helper()
	labtest.Eventually(t, 20*time.Second, func() error {
		if n := vh.Depth(t, inquiryDLQ); n != 1 {
			return fmt.Errorf("%d messages in %s", n, inquiryDLQ)
		}
		return nil
	})
}

func noTicket(t *testing.T, in *apptest.Instance, id string) {
	t.Helper()
	if tk, err := ticket(t, in, id); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("ticket %s exists (%+v) or lookup failed: %v", id, tk, err)
	}
	if n := count(t, in, `SELECT COUNT(*) FROM outbox WHERE aggregate_id = ?`, id); n != 0 {
		t.Fatalf("%d outbox rows leaked for %s", n, id)
	}
}

func fired(t *testing.T, in *apptest.Instance, typ anomaly.Type, msgType string, atLeast int64) {
	t.Helper()
	if n := in.RT.Anomalies().Fired(typ, msgType); n < atLeast {
		t.Fatalf("%s on %s fired %d times, want at least %d", typ, msgType, n, atLeast)
	}
}

func TestAnomalyConsumerErrorBeforeHandler(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.ConsumerErrorBeforeHandler, contracts.TypeInquirySubmitted, nil)
	vh.Publish(t, inquiry("a-1", "en"))
	deadLettered(t, vh) // every attempt failed before the handler: retried, then dead-lettered
	noTicket(t, in, "a-1")
	fired(t, in, anomaly.ConsumerErrorBeforeHandler, contracts.TypeInquirySubmitted, 3)
}

func TestAnomalyConsumerErrorAfterHandler(t *testing.T) {
	vh := apptest.NewVHost(t)
	created := vh.Capture(t, contracts.ExchangeTickets, contracts.KeyTicketCreated)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.ConsumerErrorAfterHandler, contracts.TypeInquirySubmitted, nil)
	vh.Publish(t, inquiry("a-2", "en"))
	deadLettered(t, vh)
	// The handler ran each time (it published into the outbox), but every
	// attempt rolled back atomically: no ticket, no row, no ghost event.
	noTicket(t, in, "a-2")
	fired(t, in, anomaly.ConsumerErrorAfterHandler, contracts.TypeInquirySubmitted, 3)
	select {
	case d := <-created:
		t.Fatalf("ghost event leaked: %s %s", d.Type, d.Body)
	default:
	}
}

func TestAnomalyConsumerDelayBeforeHandler(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.ConsumerDelayBeforeHandler, contracts.TypeInquirySubmitted, map[string]string{"DelayInMs": "1500"})
	begin := time.Now()
	vh.Publish(t, inquiry("a-3", "pl"))
	// The race experiment of §8.6: the translation overtakes the delayed
	// inquiry, is parked, and is attached when the ticket is created.
	vh.Publish(t, contracts.TranslationCompleted{ReferenceID: "a-3", TranslatedText: "I cannot download the invoice"})
	labtest.Eventually(t, 10*time.Second, func() error {
		if _, ok, err := tickets.NewSQLQueries(in.RT.DB()).Parked(t.Context(), "a-3"); !ok || err != nil {
			return fmt.Errorf("translation not parked (%v)", err)
		}
		return nil
	})
	if _, err := ticket(t, in, "a-3"); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("ticket exists before the delay ended: %v", err)
	}
	labtest.Eventually(t, 15*time.Second, func() error { _, err := ticket(t, in, "a-3"); return err })
	if took := time.Since(begin); took < 1500*time.Millisecond {
		t.Fatalf("ticket created after %v, before the 1.5s delay", took)
	}
	tk, _ := ticket(t, in, "a-3")
	if tk.Status != contracts.StatusBeforeQualification || tk.TranslatedDescription != "I cannot download the invoice" {
		t.Fatalf("parked translation not attached: %+v", tk)
	}
	fired(t, in, anomaly.ConsumerDelayBeforeHandler, contracts.TypeInquirySubmitted, 1)
}

func TestAnomalyConsumerDelayAfterHandler(t *testing.T) {
	vh := apptest.NewVHost(t)
	created := vh.Capture(t, contracts.ExchangeTickets, contracts.KeyTicketCreated)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.ConsumerDelayAfterHandler, contracts.TypeInquirySubmitted, map[string]string{"DelayInMs": "1500"})
	begin := time.Now()
	vh.Publish(t, inquiry("a-4", "en"))
	// The work is done but neither committed nor acked for the delay; with the
	// outbox the event leaves only after the commit.
	receive(t, created, 15*time.Second)
	if took := time.Since(begin); took < 1500*time.Millisecond {
		t.Fatalf("TicketCreated out after %v, before the 1.5s delay", took)
	}
	if _, err := ticket(t, in, "a-4"); err != nil {
		t.Fatal(err)
	}
}

func TestAnomalyProducerErrorBeforeTransaction(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	// The InquirySubmitted execution may publish TicketCreated: it fails before
	// its transaction, so not even the inbox row is written.
	enable(t, in, anomaly.ProducerErrorBeforeTransaction, contracts.TypeTicketCreated, nil)
	msgID := vh.Publish(t, inquiry("a-5", "en"))
	deadLettered(t, vh)
	noTicket(t, in, "a-5")
	if n := count(t, in, `SELECT COUNT(*) FROM inbox WHERE message_id = ?`, msgID); n != 0 {
		t.Fatalf("inbox row written for a handling that failed before its transaction")
	}
	// Commands too: qualifying may publish TicketQualified.
	code, _ := in.Do(t, http.MethodDelete, "/anomalies/ProducerErrorBeforeTransaction/messages/TicketCreated", nil)
	if code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	vh.Publish(t, inquiry("a-6", "en"))
	labtest.Eventually(t, 10*time.Second, func() error { _, err := ticket(t, in, "a-6"); return err })
	enable(t, in, anomaly.ProducerErrorBeforeTransaction, contracts.TypeTicketQualified, nil)
	if code, body := in.Do(t, http.MethodPost, "/tickets/a-6/qualify", `{"ticketType":"Question","severityLevel":"Low"}`); code != http.StatusInternalServerError {
		t.Fatalf("qualify with the anomaly: %d %s, want 500", code, body)
	}
	if tk, _ := ticket(t, in, "a-6"); tk.Status != contracts.StatusBeforeQualification {
		t.Fatalf("ticket changed: %+v", tk)
	}
	fired(t, in, anomaly.ProducerErrorBeforeTransaction, contracts.TypeTicketQualified, 1)
}

func TestAnomalyProducerErrorWithinTransaction(t *testing.T) {
	vh := apptest.NewVHost(t)
	events := vh.Capture(t, contracts.ExchangeTickets, contracts.KeyTicketQualified)
	in := start(t, vh, apptest.Options{})
	vh.Publish(t, inquiry("a-7", "en"))
	labtest.Eventually(t, 10*time.Second, func() error { _, err := ticket(t, in, "a-7"); return err })
	enable(t, in, anomaly.ProducerErrorWithinTransaction, contracts.TypeTicketQualified, nil)
	// The handler ran and wrote TicketQualified to the outbox; the error
	// before the commit rolls the ticket and the outbox row back together.
	if code, body := in.Do(t, http.MethodPost, "/tickets/a-7/qualify", `{"ticketType":"Question","severityLevel":"Low"}`); code != http.StatusInternalServerError {
		t.Fatalf("qualify: %d %s, want 500", code, body)
	}
	if tk, _ := ticket(t, in, "a-7"); tk.Status != contracts.StatusBeforeQualification || tk.Version != 1 {
		t.Fatalf("ticket changed: %+v", tk)
	}
	if n := count(t, in, `SELECT COUNT(*) FROM outbox WHERE type = ?`, contracts.TypeTicketQualified); n != 0 {
		t.Fatalf("%d TicketQualified rows survived the rollback", n)
	}
	select {
	case d := <-events:
		t.Fatalf("TicketQualified leaked: %s", d.Body)
	case <-time.After(500 * time.Millisecond): // the relay polls every 200 ms
	}
}

func TestAnomalyProducerErrorAfterTransaction(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.ProducerErrorAfterTransaction, contracts.TypeTicketCreated, nil)
	msgID := vh.Publish(t, inquiry("a-8", "en"))
	// Committed, then failed after the commit: the message is retried, and the
	// redelivery meets the inbox row — a recorded dedup skip, no second effect.
	labtest.Eventually(t, 15*time.Second, func() error {
		if n := count(t, in, `SELECT COUNT(*) FROM dedup_skips WHERE message_id = ?`, msgID); n != 1 {
			return fmt.Errorf("%d dedup skips for %s", n, msgID)
		}
		return nil
	})
	if _, err := ticket(t, in, "a-8"); err != nil {
		t.Fatalf("the committed ticket is missing: %v", err)
	}
	if n := count(t, in, `SELECT COUNT(*) FROM outbox WHERE type = ? AND aggregate_id = ?`, contracts.TypeTicketCreated, "a-8"); n != 1 {
		t.Fatalf("%d TicketCreated rows, want exactly 1", n)
	}
	if n := vh.Depth(t, inquiryDLQ); n != 0 {
		t.Fatalf("%d messages dead-lettered, want 0", n)
	}
	fired(t, in, anomaly.ProducerErrorAfterTransaction, contracts.TypeTicketCreated, 1)
	if st := in.RT.Bus().Stats(); st.Duplicates != 1 || st.Retried != 1 {
		t.Fatalf("stats: duplicates %d retried %d, want 1 and 1", st.Duplicates, st.Retried)
	}
}

func TestAnomalyOutboxErrorOnSave(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.OutboxErrorOnSave, contracts.TypeTicketCreated, nil)
	vh.Publish(t, inquiry("a-9", "en"))
	deadLettered(t, vh) // the ticket and its outbox row roll back together on every attempt
	noTicket(t, in, "a-9")
	fired(t, in, anomaly.OutboxErrorOnSave, contracts.TypeTicketCreated, 3)
}

func TestAnomalyOutboxErrorOnPublish(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	enable(t, in, anomaly.OutboxErrorOnPublish, contracts.TypeTicketCreated, nil)
	vh.Publish(t, inquiry("a-10", "en"))
	deadLettered(t, vh) // outbox on: it fires on the outbox write, like OnSave
	noTicket(t, in, "a-10")
	fired(t, in, anomaly.OutboxErrorOnPublish, contracts.TypeTicketCreated, 3)
}
