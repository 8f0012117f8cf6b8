package translations

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

// Translator handles RequestTranslationV2: it asks the provider for an
// English text and says what to publish.
type Translator struct {
	Provider Provider
}

// Handle returns TranslationCompleted, or TranslationSkipped when there is
// nothing to translate, the language is not supported, or the result is
// empty. Other provider errors are returned: the message should be retried.
// An English source is completed with the text unchanged.
func (tr *Translator) Handle(ctx context.Context, m contracts.RequestTranslationV2) (contracts.Message, error) {
	if strings.TrimSpace(m.ReferenceID) == "" {
		return nil, errors.New("RequestTranslationV2 without referenceId")
	}
	skip := func(reason string) contracts.Message {
		return contracts.TranslationSkipped{OriginalText: m.Text, ReferenceID: m.ReferenceID, Reason: reason}
	}
	if strings.TrimSpace(m.Text) == "" {
		return skip("empty text"), nil
	}
	if language.IsEnglish(m.LanguageCode) {
		return contracts.TranslationCompleted{OriginalText: m.Text, TranslatedText: m.Text, ReferenceID: m.ReferenceID}, nil
	}
	out, err := tr.Provider.Translate(ctx, m.Text, m.LanguageCode, language.English)
	switch {
	case errors.Is(err, ErrUnsupportedLanguage):
		return skip(err.Error()), nil
	case err != nil:
		return nil, fmt.Errorf("translate %s: %w", m.ReferenceID, err)
	case strings.TrimSpace(out) == "":
		return skip("empty result"), nil
	}
	return contracts.TranslationCompleted{OriginalText: m.Text, TranslatedText: out, ReferenceID: m.ReferenceID}, nil
}
