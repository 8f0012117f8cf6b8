package translations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

// Provider translates text. from and to are ISO 639-1 codes. Implementations
// are safe for concurrent use and honour ctx. An error wrapping
// ErrUnsupportedLanguage is permanent (the request is skipped); any other
// error is transient (the message is retried).
type Provider interface {
	Translate(ctx context.Context, text, from, to string) (string, error)
}

// Provider kinds of Config.
const (
	KindGlossary       = "glossary"
	KindLibreTranslate = "libretranslate"
	KindOpenAI         = "openai"
)

// Config selects the provider. The default is the offline glossary; the HTTP
// providers are off unless configured.
type Config struct {
	Kind string // glossary (default), libretranslate, openai
	// URL is the endpoint base: LibreTranslate's root (POST {URL}/translate)
	// or an OpenAI-compatible API root (POST {URL}/v1/chat/completions; a
	// URL already ending in /v1 is accepted).
	URL     string
	APIKey  string
	Model   string        // openai only; default gpt-4o-mini (the original's model)
	Timeout time.Duration // per request; default 30 s
}

// DefaultModel is the original's OpenAI model.
const DefaultModel = "gpt-4o-mini"

// Validate reports a bad configuration.
func (c Config) Validate() error {
	switch c.Kind {
	case "", KindGlossary:
		return nil
	case KindLibreTranslate, KindOpenAI:
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("translations: %s needs an http(s) URL, got %q", c.Kind, c.URL)
		}
		if c.Timeout < 0 {
			return errors.New("translations: timeout must not be negative")
		}
		return nil
	}
	return fmt.Errorf("translations: unknown provider kind %q (glossary, libretranslate, openai)", c.Kind)
}

// NewProvider builds the configured provider. client nil uses a client with
// the configured timeout.
func NewProvider(c Config, client *http.Client) (Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: c.Timeout}
	}
	base := strings.TrimRight(c.URL, "/")
	switch c.Kind {
	case KindLibreTranslate:
		return &LibreTranslate{URL: base, APIKey: c.APIKey, Client: client}, nil
	case KindOpenAI:
		model := c.Model
		if model == "" {
			model = DefaultModel
		}
		return &OpenAI{URL: strings.TrimSuffix(base, "/v1"), APIKey: c.APIKey, Model: model, Client: client}, nil
	}
	return NewGlossary()
}

// LibreTranslate calls a LibreTranslate server: POST {URL}/translate with
// {q, source, target, format: "text", api_key} → {translatedText}.
type LibreTranslate struct {
	URL    string
	APIKey string
	Client *http.Client
}

var _ Provider = (*LibreTranslate)(nil)

// Translate implements Provider.
func (l *LibreTranslate) Translate(ctx context.Context, text, from, to string) (string, error) {
	body := map[string]string{"q": text, "source": language.Base(from), "target": language.Base(to), "format": "text"}
	if l.APIKey != "" {
		body["api_key"] = l.APIKey
	}
	var resp struct {
		TranslatedText string `json:"translatedText"`
		Error          string `json:"error"`
	}
	status, err := postJSON(ctx, l.Client, l.URL+"/translate", nil, body, &resp)
	if err != nil {
		return "", fmt.Errorf("libretranslate: %w", err)
	}
	if status != http.StatusOK {
		err := fmt.Errorf("libretranslate: HTTP %d: %s", status, resp.Error)
		if status == http.StatusBadRequest && strings.Contains(strings.ToLower(resp.Error), "not supported") {
			return "", fmt.Errorf("%w: %w", err, ErrUnsupportedLanguage)
		}
		return "", err
	}
	return resp.TranslatedText, nil
}

// OpenAI calls an OpenAI-compatible chat completion endpoint with the
// original's prompt (translate from X to Y, answer with the translation only).
type OpenAI struct {
	URL    string // API root, without /v1
	APIKey string
	Model  string
	Client *http.Client
}

var _ Provider = (*OpenAI)(nil)

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Translate implements Provider.
func (o *OpenAI) Translate(ctx context.Context, text, from, to string) (string, error) {
	req := struct {
		Model       string        `json:"model"`
		Messages    []chatMessage `json:"messages"`
		Temperature float64       `json:"temperature"`
	}{Model: o.Model, Messages: []chatMessage{
		{Role: "system", Content: fmt.Sprintf("Translate the user's text from %s to %s. Reply with the translation only.", language.Name(from), language.Name(to))},
		{Role: "user", Content: text},
	}}
	var resp struct {
		Choices []struct {
			Message chatMessage `json:"message"`
		} `json:"choices"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	hdr := http.Header{}
	if o.APIKey != "" {
		hdr.Set("Authorization", "Bearer "+o.APIKey)
	}
	status, err := postJSON(ctx, o.Client, o.URL+"/v1/chat/completions", hdr, req, &resp)
	if err != nil {
		return "", fmt.Errorf("openai: %w", err)
	}
	if status != http.StatusOK {
		msg := ""
		if resp.Error != nil {
			msg = resp.Error.Message
		}
		return "", fmt.Errorf("openai: HTTP %d: %s", status, msg)
	}
	if len(resp.Choices) == 0 {
		return "", errors.New("openai: no choices in the answer")
	}
	return strings.TrimSpace(resp.Choices[0].Message.Content), nil
}

// maxAnswer bounds the body read from a provider.
const maxAnswer = 1 << 20

func postJSON(ctx context.Context, c *http.Client, endpoint string, hdr http.Header, in, out any) (int, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil && resp.StatusCode == http.StatusOK {
			return resp.StatusCode, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}
