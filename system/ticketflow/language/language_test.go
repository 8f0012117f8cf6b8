package language

import "testing"

func TestDetectRealSentences(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		want string
	}{
		{"I cannot log in since yesterday, please help.", "en"},
		{"The invoice for March is wrong and I was charged twice.", "en"},
		{"My printer does not work after the last update.", "en"},
		{"Nie mogę zalogować się do systemu od wczoraj, proszę o pomoc.", "pl"},
		{"Faktura za marzec jest błędna", "pl"},
		{"Drukarka nie działa po ostatniej aktualizacji.", "pl"},
		{"Ich kann mich seit gestern nicht mehr anmelden, bitte helfen Sie mir.", "de"},
		{"Die Rechnung ist falsch", "de"},
		{"Mein Drucker funktioniert nach dem letzten Update nicht mehr.", "de"},
		{"No puedo iniciar sesión desde ayer, por favor ayúdenme.", "es"},
		{"La factura de marzo es incorrecta y me cobraron dos veces.", "es"},
		{"Mi impresora no funciona después de la última actualización.", "es"},
		{"Je ne peux plus me connecter depuis hier, aidez-moi s'il vous plaît.", "fr"},
		{"La facture de mars est incorrecte et j'ai été débité deux fois.", "fr"},
		{"Mon imprimante ne fonctionne plus après la dernière mise à jour.", "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.text[:12], func(t *testing.T) {
			got := d.Detect(tt.text)
			if got.Code != tt.want {
				t.Fatalf("Detect(%q) = %+v, want %s", tt.text, got, tt.want)
			}
			if !got.Reliable && got.Code != "en" {
				t.Logf("low confidence %.2f", got.Confidence)
			}
		})
	}
}

func TestDetectFallsBack(t *testing.T) {
	d, err := New(Config{Fallback: "en"})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"", "   ", "12345", "ok"} {
		got := d.Detect(text)
		if got.Code != "en" || got.Reliable {
			t.Errorf("Detect(%q) = %+v, want unreliable fallback en", text, got)
		}
	}
	// A narrower whitelist is honoured: Polish is not a candidate.
	d2, err := New(Config{Languages: []string{"en", "de"}, Fallback: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if got := d2.Detect("Nie mogę zalogować się do systemu od wczoraj, proszę o pomoc."); got.Code == "pl" {
		t.Fatalf("detected pl outside the whitelist: %+v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(Config{Languages: []string{"en", "xx"}}); err == nil {
		t.Fatal("unknown code accepted")
	}
	if _, err := New(Config{Fallback: "zz"}); err == nil {
		t.Fatal("unknown fallback accepted")
	}
}

func TestNamesAndEnglish(t *testing.T) {
	for code, want := range map[string]string{"pl": "polish", "en": "english", "de-DE": "german", "es": "spanish", "fr": "french", "xx": "xx"} {
		if got := Name(code); got != want {
			t.Errorf("Name(%q) = %q, want %q", code, got, want)
		}
	}
	for code, want := range map[string]bool{"en": true, "EN": true, "en-GB": true, "english": true, "pl": false, "": false, "eng": false} {
		if IsEnglish(code) != want {
			t.Errorf("IsEnglish(%q) != %v", code, want)
		}
	}
	if Base(" PL_pl ") != "pl" {
		t.Errorf("Base = %q", Base(" PL_pl "))
	}
}
