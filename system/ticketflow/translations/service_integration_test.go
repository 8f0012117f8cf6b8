//go:build integration

package translations_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow-lab/tflab/internal/labtest"
	"github.com/ticketflow-lab/tflab/system/store"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app/apptest"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/translations"
)

func TestMain(m *testing.M) { os.Exit(labtest.Main(m)) }

func next(t *testing.T, ch <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(15 * time.Second):
		t.Fatal("no translation result published")
		return amqp.Delivery{}
	}
}

func TestRequestTranslationV2IsCompletedOrSkipped(t *testing.T) {
	vh := apptest.NewVHost(t)
	results := vh.Capture(t, contracts.ExchangeTranslationCompleted, "")
	apptest.Start(t, vh, contracts.Translations, translations.Wire, apptest.Options{})

	vh.Publish(t, contracts.RequestTranslationV2{Text: "Dzień dobry, nie mogę pobrać faktury", LanguageCode: "pl", ReferenceID: "r-1"})
	d := next(t, results)
	var done contracts.TranslationCompleted
	if d.Type != contracts.TypeTranslationCompleted || json.Unmarshal(d.Body, &done) != nil || done.ReferenceID != "r-1" ||
		!strings.Contains(strings.ToLower(done.TranslatedText), "invoice") {
		t.Fatalf("completed: %s %s", d.Type, d.Body)
	}
	vh.Publish(t, contracts.RequestTranslationV2{Text: "   ", LanguageCode: "pl", ReferenceID: "r-2"})
	d = next(t, results)
	var skip contracts.TranslationSkipped
	if d.Type != contracts.TypeTranslationSkipped || json.Unmarshal(d.Body, &skip) != nil || skip.ReferenceID != "r-2" {
		t.Fatalf("skipped: %s %s", d.Type, d.Body)
	}
}

func TestSyncTranslationRouteAndSettings(t *testing.T) {
	vh := apptest.NewVHost(t)
	in := apptest.Start(t, vh, contracts.Translations, translations.Wire, apptest.Options{})
	code, raw := in.Do(t, http.MethodPost, "/translations", `{"text":"Dzień dobry, nie mogę pobrać faktury","languageCode":"pl"}`)
	if code != http.StatusOK || !strings.Contains(strings.ToLower(string(raw)), "invoice") {
		t.Fatalf("POST /translations: %d %s", code, raw)
	}
	code, raw = in.Do(t, http.MethodPost, "/translations", `{"text":`)
	var e struct{ Message string }
	if code != http.StatusBadRequest || json.Unmarshal(raw, &e) != nil || e.Message == "" {
		t.Fatalf("bad body: %d %s", code, raw)
	}
	// A provider setting that cannot work is refused at wiring time.
	set := apptest.Defaults()
	set[translations.SettingTranslator] = "libretranslate"
	cfg := in.Config
	cfg.Instance, cfg.Settings, cfg.DBPath = 2, set, t.TempDir()+"/db.sqlite"
	rt, err := app.New(t.Context(), cfg, nil, app.Spec{Service: contracts.Translations})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := translations.Wire(rt); err == nil || !strings.Contains(err.Error(), "URL") {
		t.Fatalf("libretranslate without a URL: %v", err)
	}
}

// TestSlowProviderDoesNotHoldTheStore runs the service with a LibreTranslate
// provider that answers only when the test releases it. While the provider
// call hangs, another write on the service's database must commit at once:
// the call runs before the handling's transaction, so it does not hold the
// store's single writer. After the release the translation is published.
func TestSlowProviderDoesNotHoldTheStore(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"translatedText":"My printer does not work"}`)
	}))
	defer srv.Close()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	vh := apptest.NewVHost(t)
	results := vh.Capture(t, contracts.ExchangeTranslationCompleted, "")
	in := apptest.Start(t, vh, contracts.Translations, translations.Wire, apptest.Options{Settings: map[string]string{
		translations.SettingTranslator: translations.KindLibreTranslate, translations.SettingTranslatorURL: srv.URL}})
	vh.Publish(t, contracts.RequestTranslationV2{Text: "Moja drukarka nie działa", LanguageCode: "pl", ReferenceID: "r-slow"})
	select {
	case <-entered:
	case <-time.After(15 * time.Second):
		t.Fatal("the provider was never called")
	}

	// The provider is blocked now. Without the fix the handling's
	// transaction is open around the call and this write waits for it
	// until the deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := in.RT.DB().InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS probe_writes (at TEXT NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO probe_writes (at) VALUES (?)`, time.Now().UTC().Format(time.RFC3339Nano))
		return err
	})
	if err != nil {
		t.Fatalf("a write while the provider call hangs failed after %s: %v (the call holds the transaction)", time.Since(start).Round(time.Millisecond), err)
	}
	select {
	case d := <-results:
		t.Fatalf("published before the provider answered: %s %s", d.Type, d.Body)
	default:
	}

	close(release)
	released = true
	d := next(t, results)
	var done contracts.TranslationCompleted
	if d.Type != contracts.TypeTranslationCompleted || json.Unmarshal(d.Body, &done) != nil || done.ReferenceID != "r-slow" ||
		done.TranslatedText != "My printer does not work" {
		t.Fatalf("completed: %s %s", d.Type, d.Body)
	}
}
