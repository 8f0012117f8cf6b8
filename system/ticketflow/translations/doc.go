// Package translations is the domain of the Translations service (spec §2.3,
// §5.2): a Provider interface, an offline glossary provider for Polish,
// German, Spanish and French into English, optional HTTP providers for
// LibreTranslate- and OpenAI-compatible endpoints, the RequestTranslationV2
// handler, and POST /translations.
//
// # Design
//
//	RequestTranslationV2 ─▶ Translator.Handle ─▶ Provider.Translate(text, from, "en")
//	                                          ├─ text           ─▶ TranslationCompleted
//	                                          ├─ empty/unsupported ─▶ TranslationSkipped{reason}
//	                                          └─ other error    ─▶ error (retry the message)
//
// The Glossary (default) loads embedded glossary/<lang>.txt files ("source =
// target", phrases allowed, "-" drops a word; 300–420 entries each), splits
// text into whitespace chunks with their punctuation, and translates the
// longest phrase first; a phrase never spans punctuation. French elisions
// ("l'imprimante") are split when not listed whole. Numbers, e-mails and URLs
// are copied; unknown words are kept and marked [[word]] and reported in
// Result.Unknown. Case follows the source at sentence starts and for
// all-caps words. It is deterministic, so translation checks can compare
// texts exactly.
//
// HTTP providers are off unless Config.Kind says otherwise:
//
//	libretranslate  POST {URL}/translate {q, source, target, format, api_key} → {translatedText}
//	openai          POST {URL}/v1/chat/completions, Bearer key, the original's prompt
//	                ("translate from X to Y"), model gpt-4o-mini by default
//
// "A translation that arrives before its ticket is parked and attached on
// creation" belongs to the Tickets service, whose transaction must cover
// both the park and the ticket insert: see tickets.ParkingStore and
// tickets.Desk.HandleTranslation.
//
// # Differences from the original, and why
//
//   - With OpenAI off (the default) the original returned the constant "This
//     is Noop translation"; the glossary really translates, so translation
//     completeness can be checked.
//   - TranslationSkipped carries a reason and is also used for unsupported
//     languages; transient provider errors are retried instead of published.
//   - An English request is completed with the text unchanged.
//   - POST /translations accepts an optional languageCode and detects the
//     language when it is absent (the original had no language parameter).
//   - The service may mount the anomaly API (the original had none here).
//
// # Wiring (service.go)
//
// Main runs the service on the shared runtime (system/ticketflow/app): the
// request-translation-v2-queue consumer calls Translator.Handle before the
// handling's transaction begins (app.Prepare), then opens the transaction
// only to publish its TranslationCompleted or TranslationSkipped through the
// outbox (effect key "translation:<reference>:<type>"); POST /translations
// serves the sync flow. The provider call stays out of the transaction
// because an HTTP provider may take seconds and the store has one writer:
// inside, it would stall every other write of the service. The anomaly
// points keep their places relative to the transaction: BeforeTransaction
// and the BeforeHandler delay run before the provider call, everything else
// as for any handler. The provider is asked again for a duplicate delivery
// (the inbox is checked in the transaction); that costs a call, never an
// effect.
//
// The provider comes from the settings translator (offline = glossary,
// default; libretranslate; openai), translator-url, translator-model,
// translator-api-key, translator-timeout. The database only holds the inbox
// and the outbox.
//
// # Best practices
//
//   - Keep glossary entries lowercase; TestParseGlossaryRejectsBadData and
//     NewGlossary refuse duplicates, so a clash is found at build time.
//   - Give HTTP providers a timeout (Config.Timeout, default 30 s): the
//     handler holds a delivery (not the database) while it waits.
package translations
