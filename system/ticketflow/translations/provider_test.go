package translations

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

func TestLibreTranslateProvider(t *testing.T) {
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/translate" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line", http.StatusTeapot)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		switch got["source"] {
		case "xx":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"xx is not supported"}`)
		case "de":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":"model crashed"}`)
		default:
			_, _ = io.WriteString(w, `{"translatedText":"My printer does not work"}`)
		}
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server not on 127.0.0.1: %s", srv.URL)
	}
	p, err := NewProvider(Config{Kind: KindLibreTranslate, URL: srv.URL + "/", APIKey: "k"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Translate(t.Context(), "Moja drukarka nie działa", "pl-PL", "en")
	if err != nil || out != "My printer does not work" {
		t.Fatalf("%q %v", out, err)
	}
	if got["q"] != "Moja drukarka nie działa" || got["source"] != "pl" || got["target"] != "en" || got["format"] != "text" || got["api_key"] != "k" {
		t.Fatalf("request body %v", got)
	}
	if _, err := p.Translate(t.Context(), "x", "xx", "en"); !errors.Is(err, ErrUnsupportedLanguage) {
		t.Fatalf("unsupported: %v", err)
	}
	if _, err := p.Translate(t.Context(), "x", "de", "en"); err == nil || errors.Is(err, ErrUnsupportedLanguage) || !strings.Contains(err.Error(), "model crashed") {
		t.Fatalf("server error: %v", err)
	}
}

func TestOpenAIProvider(t *testing.T) {
	type msg struct{ Role, Content string }
	var req struct {
		Model    string
		Messages []msg
	}
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"no such route `+r.URL.Path+`"}}`)
			return
		}
		auth = r.Header.Get("Authorization")
		_ = json.NewDecoder(r.Body).Decode(&req)
		if auth != "Bearer sk-test" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"message":"invalid api key"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"  The invoice is wrong.\n"}}]}`)
	}))
	defer srv.Close()
	p, err := NewProvider(Config{Kind: KindOpenAI, URL: srv.URL + "/v1", APIKey: "sk-test"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Translate(t.Context(), "Faktura jest błędna", "pl", "en")
	if err != nil || out != "The invoice is wrong." {
		t.Fatalf("%q %v", out, err)
	}
	if req.Model != DefaultModel || len(req.Messages) != 2 || req.Messages[1].Content != "Faktura jest błędna" ||
		!strings.Contains(req.Messages[0].Content, "from polish to english") {
		t.Fatalf("request %+v", req)
	}
	bad, _ := NewProvider(Config{Kind: KindOpenAI, URL: srv.URL, APIKey: "wrong", Model: "local"}, srv.Client())
	if _, err := bad.Translate(t.Context(), "x", "pl", "en"); err == nil || !strings.Contains(err.Error(), "invalid api key") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestProviderTimeoutIsTransient(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := NewProvider(Config{Kind: KindLibreTranslate, URL: srv.URL, Timeout: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Translate(t.Context(), "x", "pl", "en"); err == nil || errors.Is(err, ErrUnsupportedLanguage) {
		t.Fatalf("timeout: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Kind: "deepl"}, {Kind: KindOpenAI}, {Kind: KindLibreTranslate, URL: "ftp://x"}, {Kind: KindOpenAI, URL: "http://h", Timeout: -1}} {
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	p, err := NewProvider(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Glossary); !ok {
		t.Fatalf("default provider is %T, want the glossary", p)
	}
}

func TestHTTPTranslations(t *testing.T) {
	det, err := language.New(language.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(glossary(t), det, nil))
	defer srv.Close()
	post := func(body string) (int, string) {
		resp, err := srv.Client().Post(srv.URL+"/translations", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"text":"Die Rechnung ist falsch"}`); code != 200 || body != "The invoice is wrong" {
		t.Fatalf("detected: %d %q", code, body)
	}
	if code, body := post(`{"text":"Faktura jest błędna","languageCode":"pl"}`); code != 200 || body != "Invoice is wrong" {
		t.Fatalf("explicit: %d %q", code, body)
	}
	if code, _ := post(`{"text":""}`); code != 400 {
		t.Fatalf("empty: %d", code)
	}
	if code, body := post(`{"text":"Ciao","languageCode":"it"}`); code != 400 || !strings.Contains(body, "unsupported") {
		t.Fatalf("unsupported: %d %s", code, body)
	}
}
