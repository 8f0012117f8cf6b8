//go:build integration

package inquiries_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/inquiries"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func start(t *testing.T, vh apptest.VHost, o apptest.Options) *apptest.Instance {
	t.Helper()
	o.Migrations = []store.Migrations{inquiries.Migrations}
	return apptest.Start(t, vh, contracts.Inquiries, inquiries.Wire, o)
}

const polish = `{"name":"Jan Kowalski","email":"jan@example.pl","title":"Problem z fakturą","description":"Dzień dobry, nie mogę pobrać faktury za ostatni miesiąc. Proszę o pomoc.","category":"billing"}`

func submit(t *testing.T, in *apptest.Instance, body string) inquiries.SubmitResponse {
	t.Helper()
	code, raw := in.Do(t, http.MethodPost, "/inquiries/submit", body)
	var r inquiries.SubmitResponse
	if code != http.StatusOK || json.Unmarshal(raw, &r) != nil || r.ID == "" {
		t.Fatalf("submit: %d %s", code, raw)
	}
	return r
}

func inquiry(t *testing.T, in *apptest.Instance, id string) (*inquiries.Inquiry, error) {
	t.Helper()
	return inquiries.NewSQLLister(in.RT.DB()).Inquiry(t.Context(), id)
}

func TestPolishSubmissionPublishesInquiryAndTranslationRequest(t *testing.T) {
	vh := apptest.NewVHost(t)
	submitted := vh.Capture(t, contracts.ExchangeInquirySubmitted, "")
	in := start(t, vh, apptest.Options{})
	r := submit(t, in, polish)
	if r.LanguageCode != "pl" {
		t.Fatalf("language %q, want pl", r.LanguageCode)
	}
	select {
	case d := <-submitted:
		var m contracts.InquirySubmitted
		if err := json.Unmarshal(d.Body, &m); err != nil || m.ID != r.ID || m.LanguageCode != "pl" || m.Category != contracts.CategoryBilling {
			t.Fatalf("InquirySubmitted %s %v", d.Body, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no InquirySubmitted")
	}
	labtest.Eventually(t, 10*time.Second, func() error {
		if n := vh.Depth(t, contracts.QueueRequestTranslationV2); n != 1 {
			return fmt.Errorf("%d translation requests queued", n)
		}
		return nil
	})
	q, err := inquiry(t, in, r.ID)
	if err != nil || q.Status != contracts.InquiryNew || q.LanguageCode != "pl" {
		t.Fatalf("row %+v %v", q, err)
	}
	// English: only InquirySubmitted, no translation request.
	en := submit(t, in, `{"name":"Ann","email":"ann@example.com","title":"Cannot log in","description":"Hello, I cannot log in to my account since yesterday, please help.","category":"technical"}`)
	var types []string
	rows, err := in.RT.DB().Query(t.Context(), `SELECT type FROM outbox WHERE aggregate_id = ? ORDER BY id`, en.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		types = append(types, s)
	}
	rows.Close()
	if strings.Join(types, ",") != contracts.TypeInquirySubmitted {
		t.Fatalf("English submission published %v", types)
	}
}

func TestBadSubmissionsAre400WithMessage(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	for _, body := range []string{
		`{not json`,
		`{"name":"","email":"jan@example.pl","description":"x"}`,
		`{"name":"Jan","email":"not an address","description":"x"}`,
		`{"name":"Jan","email":"jan@example.pl","description":""}`,
	} {
		code, raw := in.Do(t, http.MethodPost, "/inquiries/submit", body)
		var e struct{ Message string }
		if code != http.StatusBadRequest || json.Unmarshal(raw, &e) != nil || e.Message == "" {
			t.Errorf("%s: %d %s, want 400 with a message", body, code, raw)
		}
	}
	if code, raw := in.Do(t, http.MethodGet, "/inquiries?page=zero", nil); code != http.StatusBadRequest {
		t.Errorf("bad page: %d %s", code, raw)
	}
	if n := vh.Depth(t, contracts.QueueInquirySubmittedTickets); n != 0 {
		t.Fatalf("%d messages published for rejected submissions", n)
	}
}

func TestInquiryStatusFollowsTheTicket(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	r := submit(t, in, polish)
	vh.Publish(t, contracts.TicketCreated{ID: r.ID, InquiryID: r.ID, Version: 1, Status: contracts.StatusWaitingForScheduledAction})
	labtest.Eventually(t, 10*time.Second, func() error {
		q, err := inquiry(t, in, r.ID)
		if err != nil || q.Status != contracts.InquiryInProgress || q.TicketID != r.ID {
			return fmt.Errorf("inquiry %+v %v", q, err)
		}
		return nil
	})
	vh.Publish(t, contracts.TicketResolved{TicketID: r.ID, Version: 4, Status: contracts.StatusResolved})
	labtest.Eventually(t, 10*time.Second, func() error {
		q, err := inquiry(t, in, r.ID)
		if err != nil || q.Status != contracts.InquiryResolved {
			return fmt.Errorf("inquiry %+v %v", q, err)
		}
		return nil
	})
	// A late, redelivered TicketCreated does not reopen it.
	vh.Publish(t, contracts.TicketCreated{ID: r.ID, InquiryID: r.ID, Version: 1})
	code, raw := in.Do(t, http.MethodGet, "/inquiries", nil)
	var list inquiries.ListResponse
	if code != http.StatusOK || json.Unmarshal(raw, &list) != nil || list.TotalCount != 1 {
		t.Fatalf("list: %d %s", code, raw)
	}
	labtest.Eventually(t, 10*time.Second, func() error {
		var n int
		if err := in.RT.DB().QueryRow(t.Context(), `SELECT COUNT(*) FROM inbox WHERE queue = ?`, contracts.QueueInquiriesTicketCreated).Scan(&n); err != nil || n != 3 {
			return fmt.Errorf("%d handled, %v", n, err)
		}
		return nil
	})
	if q, _ := inquiry(t, in, r.ID); q.Status != contracts.InquiryResolved {
		t.Fatalf("reopened: %+v", q)
	}
}

func TestSubmitFailsBeforeItsTransactionUnderProducerAnomaly(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := start(t, vh, apptest.Options{})
	code, raw := in.Do(t, http.MethodPost, "/anomalies", `{"anomalyType":"ProducerErrorBeforeTransaction","messageType":"RequestTranslationV2"}`)
	if code != http.StatusOK {
		t.Fatalf("enable: %d %s", code, raw)
	}
	if code, raw := in.Do(t, http.MethodPost, "/inquiries/submit", polish); code != http.StatusInternalServerError {
		t.Fatalf("submit: %d %s, want 500", code, raw)
	}
	var n int
	if err := in.RT.DB().QueryRow(t.Context(), `SELECT COUNT(*) FROM inquiries`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d inquiries saved (%v), want none", n, err)
	}
}

// TestTranslationV1Variant: with translation-v1 on, a Polish inquiry also
// leaves a RequestTranslationV1 in request-translation-v1-queue, which
// nothing consumes; off, that queue is not even declared.
func TestTranslationV1Variant(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("on=%v", on), func(t *testing.T) {
			vh := apptest.NewVHost(t)
			set := map[string]string{}
			if on {
				set[app.SettingTranslationV1] = "on"
			}
			in := start(t, vh, apptest.Options{Settings: set})
			submit(t, in, polish)
			labtest.Eventually(t, 10*time.Second, func() error {
				if n := vh.Depth(t, contracts.QueueRequestTranslationV2); n != 1 {
					return fmt.Errorf("%d V2 requests queued", n)
				}
				return nil
			})
			_, err := vh.Channel(t).QueueDeclarePassive(contracts.QueueRequestTranslationV1, true, false, false, false, nil)
			if !on {
				if err == nil {
					t.Fatal("request-translation-v1-queue declared with the variant off")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			labtest.Eventually(t, 10*time.Second, func() error {
				if n := vh.Depth(t, contracts.QueueRequestTranslationV1); n != 1 {
					return fmt.Errorf("%d V1 requests queued", n)
				}
				return nil
			})
		})
	}
}
