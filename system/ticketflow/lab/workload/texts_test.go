package workload_test

import (
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
	"github.com/ticketflow-lab/tflab/system/ticketflow/translations"
)

// TestTextsAreDetectedAndTranslated proves the corpus against the services'
// own detector and glossary (a test-only import: the generator itself talks
// to the system over HTTP only). Every generated text must be detected as its
// language, and every non-English description translated without unknown words.
func TestTextsAreDetectedAndTranslated(t *testing.T) {
	d, err := language.New(language.Config{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := translations.NewGlossary()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range workload.Languages() {
		texts := workload.Texts(lang)
		if len(texts) < 100 {
			t.Fatalf("%s: only %d texts", lang, len(texts))
		}
		for _, tx := range texts {
			if got := d.Detect(tx.Title + "\n" + tx.Description); got.Code != lang {
				t.Errorf("%s text detected as %s: %q / %q", lang, got.Code, tx.Title, tx.Description)
			}
			if lang == language.English {
				continue
			}
			r, err := g.TranslateDetailed(tx.Description, lang, "en")
			if err != nil || len(r.Unknown) > 0 {
				t.Errorf("%s %q: unknown words %v (%v)", lang, tx.Description, r.Unknown, err)
			}
		}
	}
}
