package language

import (
	"errors"
	"fmt"
	"strings"

	"github.com/abadojack/whatlanggo"
)

// English is the working language of the desk; only it skips translation.
const English = "en"

// DefaultLanguages are the candidates when Config.Languages is empty: the
// languages the offline glossary translates, plus common neighbours so that
// their texts are not misread as one of those.
var DefaultLanguages = []string{"en", "pl", "de", "es", "fr", "it", "pt", "nl", "cs", "ru", "uk"}

// Config configures a Detector.
type Config struct {
	// Languages are ISO 639-1 codes of the candidate languages.
	Languages []string
	// Fallback is returned when no language can be detected (empty text,
	// digits only, a script outside the candidates). Default "en".
	Fallback string
}

func (c *Config) setDefaults() {
	if len(c.Languages) == 0 {
		c.Languages = DefaultLanguages
	}
	if c.Fallback == "" {
		c.Fallback = English
	}
}

// Validate reports unknown language codes.
func (c Config) Validate() error {
	var errs []error
	for _, code := range append(append([]string{}, c.Languages...), c.Fallback) {
		if code == "" {
			continue
		}
		if _, ok := langOf(code); !ok {
			errs = append(errs, fmt.Errorf("unknown language code %q", code))
		}
	}
	return errors.Join(errs...)
}

// Detector detects languages. It is immutable and safe for concurrent use.
type Detector struct {
	opts     whatlanggo.Options
	fallback string
}

// Result of a detection.
type Result struct {
	Code       string  // ISO 639-1, lowercase
	Confidence float64 // 0..1, as reported by whatlanggo
	// Reliable is false when the code is the fallback or confidence is low;
	// Code is still the best candidate.
	Reliable bool
}

// New builds a detector.
func New(cfg Config) (*Detector, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("language detector: %w", err)
	}
	wl := map[whatlanggo.Lang]bool{}
	for _, code := range cfg.Languages {
		l, _ := langOf(code)
		wl[l] = true
	}
	return &Detector{opts: whatlanggo.Options{Whitelist: wl}, fallback: strings.ToLower(cfg.Fallback)}, nil
}

// minReliable is the confidence below which a result is flagged unreliable.
const minReliable = 0.1

// Detect returns the language of text.
func (d *Detector) Detect(text string) Result {
	text = strings.TrimSpace(text)
	if text == "" {
		return Result{Code: d.fallback}
	}
	info := whatlanggo.DetectWithOptions(text, d.opts)
	code := info.Lang.Iso6391()
	if info.Script == nil || code == "" || !d.opts.Whitelist[info.Lang] {
		return Result{Code: d.fallback}
	}
	return Result{Code: code, Confidence: info.Confidence, Reliable: info.Confidence >= minReliable}
}

// IsEnglish reports whether code means English (case-insensitive; "en",
// "en-GB", "english" all count).
func IsEnglish(code string) bool {
	c := strings.ToLower(strings.TrimSpace(code))
	return c == English || strings.HasPrefix(c, "en-") || c == "english"
}

// Name returns the lowercase English name of a code ("pl" → "polish"),
// as the original's "english"/"polish" constants; unknown codes are returned
// unchanged.
func Name(code string) string {
	l, ok := langOf(code)
	if !ok {
		return code
	}
	return strings.ToLower(l.String())
}

// Base returns the primary subtag of a language tag, lowercase ("pl-PL" → "pl").
func Base(code string) string {
	c := strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(c, "-_"); i >= 0 {
		c = c[:i]
	}
	return c
}

func langOf(code string) (whatlanggo.Lang, bool) {
	c := Base(code)
	for l, short := range iso6391 {
		if short == c {
			return l, true
		}
	}
	return 0, false
}

// iso6391 maps whatlanggo's languages that have ISO 639-1 codes.
var iso6391 = func() map[whatlanggo.Lang]string {
	m := map[whatlanggo.Lang]string{}
	for l := range whatlanggo.Langs {
		if c := l.Iso6391(); c != "" {
			m[l] = c
		}
	}
	return m
}()
