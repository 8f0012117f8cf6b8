package translations

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

var _ service.Main = Main

// Settings of the Translations service (service.Config.Settings).
const (
	// SettingTranslator picks the provider: offline (= glossary, default),
	// glossary, libretranslate or openai.
	SettingTranslator = "translator"
	// SettingTranslatorURL is the HTTP provider's base URL.
	SettingTranslatorURL = "translator-url"
	// SettingTranslatorModel is the openai model (default gpt-4o-mini).
	SettingTranslatorModel = "translator-model"
	// SettingTranslatorKey is the HTTP provider's API key (cmd passes it).
	SettingTranslatorKey = "translator-api-key"
	// SettingTranslatorTimeout bounds one provider request (default 30s).
	SettingTranslatorTimeout = "translator-timeout"
)

// Main runs the Translations service: the RequestTranslationV2 consumer
// (publishing TranslationCompleted or TranslationSkipped in the handling's
// transaction) and POST /translations for the sync flow. The service has a
// database like every other, for the inbox and the outbox.
func Main(ctx context.Context, cfg service.Config, log *slog.Logger) error {
	rt, err := app.New(ctx, cfg, log, app.Spec{Service: contracts.Translations})
	if err != nil {
		return fmt.Errorf("translations: %w", err)
	}
	if err := Wire(rt); err != nil {
		_ = rt.Close()
		return fmt.Errorf("translations: %w", err)
	}
	return rt.Run(ctx)
}

// ProviderConfig reads the provider settings of rt.
func ProviderConfig(rt *app.Runtime) (Config, error) {
	kind, _ := rt.Setting(SettingTranslator)
	kind = strings.ToLower(strings.TrimSpace(kind))
	if kind == "" || kind == "offline" {
		kind = KindGlossary
	}
	c := Config{Kind: kind}
	c.URL, _ = rt.Setting(SettingTranslatorURL)
	c.Model, _ = rt.Setting(SettingTranslatorModel)
	c.APIKey, _ = rt.Setting(SettingTranslatorKey)
	var err error
	if c.Timeout, err = rt.Duration(SettingTranslatorTimeout, 0); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// Wire registers the Translations handler and routes on rt (Main without Run).
func Wire(rt *app.Runtime) error {
	pc, err := ProviderConfig(rt)
	if err != nil {
		return err
	}
	p, err := NewProvider(pc, nil)
	if err != nil {
		return err
	}
	det, err := language.New(language.Config{})
	if err != nil {
		return err
	}
	tr := &Translator{Provider: p}
	// The provider is asked before the transaction begins (app.Prepare): an
	// HTTP provider may take seconds, and inside the transaction it would
	// hold the store's single writer. The transaction only stores and
	// publishes the prepared result.
	translate := func(ctx context.Context, msg contracts.Message) (any, error) {
		m, ok := msg.(contracts.RequestTranslationV2)
		if !ok {
			return nil, fmt.Errorf("request translation: unexpected %T", msg)
		}
		return tr.Handle(ctx, m)
	}
	rt.Handle(contracts.QueueRequestTranslationV2, contracts.TypeRequestTranslationV2,
		func(ctx context.Context, tx *app.Tx, msg contracts.Message) error {
			m, ok := msg.(contracts.RequestTranslationV2)
			if !ok {
				return fmt.Errorf("request translation: unexpected %T", msg)
			}
			out, ok := tx.Prepared().(contracts.Message)
			if !ok || out == nil {
				return fmt.Errorf("request translation %s: no translation was prepared", m.ReferenceID)
			}
			if err := tx.Publish(ctx, out); err != nil {
				return err
			}
			tx.Effect("translation:" + m.ReferenceID + ":" + out.MessageType())
			return nil
		}, app.Prepare(translate))
	Register(rt.Mux(), p, det, rt.Log())
	rt.Log().Info("Translator configured", "provider", pc.Kind)
	return nil
}
