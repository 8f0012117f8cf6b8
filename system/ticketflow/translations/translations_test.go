package translations

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

func glossary(t *testing.T) *Glossary {
	t.Helper()
	g, err := NewGlossary()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGlossaryTranslatesServiceDeskSentences(t *testing.T) {
	g := glossary(t)
	tests := []struct{ lang, in, want string }{
		{"pl", "Nie mogę zalogować się do systemu od wczoraj, proszę o pomoc.", "I cannot log in to the system since yesterday, please help."},
		{"pl", "Faktura za marzec jest błędna.", "Invoice for March is wrong."},
		{"pl", "Drukarka nie działa po ostatniej aktualizacji.", "Printer does not work after the last update."},
		{"pl", "Dzień dobry, moje konto jest zablokowane.", "Good morning, my account is blocked."},
		{"pl", "PILNE: serwer nie odpowiada", "URGENT: server does not respond"},
		{"de", "Die Rechnung für März ist falsch.", "The invoice for March is wrong."},
		{"de", "Ich kann mich nicht anmelden.", "I cannot log in."},
		{"de", "Der Drucker druckt nicht. Vielen Dank!", "The printer does not print. Thank you very much!"},
		{"es", "No puedo iniciar sesión desde ayer, por favor ayúdenme.", "I cannot log in since yesterday, please help me."},
		{"es", "La factura de marzo es incorrecta y me cobraron dos veces.", "The invoice of March is incorrect and I was charged twice."},
		{"es", "Mi impresora no funciona después de la última actualización.", "My printer does not work after the last update."},
		{"fr", "Je ne peux plus me connecter depuis hier, aidez-moi s'il vous plaît.", "I can no longer log in since yesterday, please help me."},
		{"fr", "La facture de mars est incorrecte et j'ai été débité deux fois.", "The invoice for March is incorrect and I was charged twice."},
		{"fr", "Mon imprimante ne fonctionne plus après la dernière mise à jour.", "My printer no longer works after the last update."},
		{"fr", "L’imprimante du bureau est cassée.", "The printer of the office is broken."},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.in[:10], func(t *testing.T) {
			r, err := g.TranslateDetailed(tt.in, tt.lang, "en")
			if err != nil {
				t.Fatal(err)
			}
			if r.Text != tt.want || len(r.Unknown) != 0 {
				t.Fatalf("\n got %q (unknown %v)\nwant %q", r.Text, r.Unknown, tt.want)
			}
		})
	}
}

func TestGlossaryMarksUnknownWordsAndKeepsVerbatimTokens(t *testing.T) {
	g := glossary(t)
	r, err := g.TranslateDetailed("Mój kot zjadł klawiaturę 3 razy, zobacz https://x.io albo napisz na jan@x.pl\nPozdrawiam, Jan", "pl-PL", "en")
	if err != nil {
		t.Fatal(err)
	}
	want := "My [[kot]] [[zjadł]] keyboard 3 times, see https://x.io or write on jan@x.pl\nBest regards, [[Jan]]"
	if r.Text != want {
		t.Fatalf("\n got %q\nwant %q", r.Text, want)
	}
	if strings.Join(r.Unknown, ",") != "kot,zjadł,Jan" {
		t.Fatalf("unknown %v", r.Unknown)
	}
}

func TestGlossaryLanguages(t *testing.T) {
	g := glossary(t)
	for _, lang := range GlossaryLanguages {
		if n := g.Size(lang); n < 250 {
			t.Errorf("%s glossary has %d entries, want a few hundred", lang, n)
		}
	}
	if out, err := g.Translate(t.Context(), "Hello there", "en", "en"); err != nil || out != "Hello there" {
		t.Fatalf("English passthrough: %q %v", out, err)
	}
	if _, err := g.Translate(t.Context(), "Ciao", "it", "en"); !errors.Is(err, ErrUnsupportedLanguage) {
		t.Fatalf("Italian: %v", err)
	}
	if _, err := g.Translate(t.Context(), "Cześć", "pl", "de"); !errors.Is(err, ErrUnsupportedLanguage) {
		t.Fatalf("into German: %v", err)
	}
}

func TestParseGlossaryRejectsBadData(t *testing.T) {
	for _, bad := range []string{
		"kot = cat\nkot = dog",
		"no separator",
		" = empty source",
		"a b c d e f g = too long",
	} {
		if _, err := parseGlossary(bufio.NewScanner(strings.NewReader(bad))); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	d, err := parseGlossary(bufio.NewScanner(strings.NewReader("# comment\n\nSię = -\nKOT = cat")))
	if err != nil || d.entries["się"] != "" || d.entries["kot"] != "cat" {
		t.Fatalf("parse: %v %v", d, err)
	}
}

type fakeProvider struct {
	out string
	err error
}

func (f fakeProvider) Translate(context.Context, string, string, string) (string, error) {
	return f.out, f.err
}

func TestTranslatorHandle(t *testing.T) {
	req := contracts.RequestTranslationV2{Text: "Drukarka nie działa", LanguageCode: "pl", ReferenceID: "r1"}
	tests := []struct {
		name     string
		p        Provider
		req      contracts.RequestTranslationV2
		wantType string
		wantText string
		wantErr  bool
	}{
		{"glossary", glossary(t), req, contracts.TypeTranslationCompleted, "Printer does not work", false},
		{"english passthrough", fakeProvider{err: errors.New("must not be called")}, contracts.RequestTranslationV2{Text: "It broke", LanguageCode: "en", ReferenceID: "r1"}, contracts.TypeTranslationCompleted, "It broke", false},
		{"empty text", glossary(t), contracts.RequestTranslationV2{Text: "  ", LanguageCode: "pl", ReferenceID: "r1"}, contracts.TypeTranslationSkipped, "", false},
		{"empty result", fakeProvider{out: " "}, req, contracts.TypeTranslationSkipped, "", false},
		{"unsupported", glossary(t), contracts.RequestTranslationV2{Text: "Ciao", LanguageCode: "it", ReferenceID: "r1"}, contracts.TypeTranslationSkipped, "", false},
		{"transient failure", fakeProvider{err: errors.New("timeout")}, req, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := (&Translator{Provider: tt.p}).Handle(t.Context(), tt.req)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error, got %+v", m)
				}
				return
			}
			if err != nil || m.MessageType() != tt.wantType {
				t.Fatalf("%v %v", m, err)
			}
			switch v := m.(type) {
			case contracts.TranslationCompleted:
				if v.TranslatedText != tt.wantText || v.ReferenceID != "r1" || v.OriginalText != tt.req.Text {
					t.Fatalf("%+v", v)
				}
			case contracts.TranslationSkipped:
				if v.ReferenceID != "r1" || v.Reason == "" {
					t.Fatalf("%+v", v)
				}
			}
		})
	}
	if _, err := (&Translator{Provider: glossary(t)}).Handle(t.Context(), contracts.RequestTranslationV2{Text: "x", LanguageCode: "pl"}); err == nil {
		t.Fatal("missing reference accepted")
	}
}
