package translations

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

//go:embed glossary/*.txt
var glossaryFS embed.FS

// GlossaryLanguages are the source languages of the built-in glossary.
var GlossaryLanguages = []string{"pl", "de", "es", "fr"}

// ErrUnsupportedLanguage means the provider cannot translate from (or to)
// the language. The translator answers it with TranslationSkipped.
var ErrUnsupportedLanguage = errors.New("unsupported language")

// maxPhrase is the longest phrase, in words, the glossary may hold.
const maxPhrase = 6

type dictionary struct {
	entries map[string]string // lowercase source (words joined by one space) → target ("" = drop)
	longest int               // words in the longest source
}

// Glossary translates word by word with a built-in service-desk glossary
// (a few hundred words and phrases per language), longest phrase first.
// Unknown words are kept and marked [[word]]. It is offline, deterministic
// and safe for concurrent use.
type Glossary struct {
	dicts map[string]*dictionary
}

var _ Provider = (*Glossary)(nil)

// NewGlossary loads the built-in glossaries.
func NewGlossary() (*Glossary, error) {
	g := &Glossary{dicts: map[string]*dictionary{}}
	for _, lang := range GlossaryLanguages {
		f, err := glossaryFS.Open("glossary/" + lang + ".txt")
		if err != nil {
			return nil, fmt.Errorf("glossary %s: %w", lang, err)
		}
		d, err := parseGlossary(bufio.NewScanner(f))
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("glossary %s: %w", lang, err)
		}
		g.dicts[lang] = d
	}
	return g, nil
}

func parseGlossary(sc *bufio.Scanner) (*dictionary, error) {
	d := &dictionary{entries: map[string]string{}}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src, dst, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want \"source = target\": %q", n, line)
		}
		words := strings.Fields(normalize(src))
		dst = strings.TrimSpace(dst)
		if len(words) == 0 || dst == "" {
			return nil, fmt.Errorf("line %d: empty source or target: %q", n, line)
		}
		if len(words) > maxPhrase {
			return nil, fmt.Errorf("line %d: phrase longer than %d words", n, maxPhrase)
		}
		key := strings.Join(words, " ")
		if _, dup := d.entries[key]; dup {
			return nil, fmt.Errorf("line %d: %q listed twice", n, key)
		}
		if dst == "-" {
			dst = ""
		}
		d.entries[key] = dst
		d.longest = max(d.longest, len(words))
	}
	return d, sc.Err()
}

// Size returns the number of entries for a source language.
func (g *Glossary) Size(lang string) int {
	if d, ok := g.dicts[language.Base(lang)]; ok {
		return len(d.entries)
	}
	return 0
}

// Translate implements Provider; to must be English.
func (g *Glossary) Translate(_ context.Context, text, from, to string) (string, error) {
	r, err := g.TranslateDetailed(text, from, to)
	return r.Text, err
}

// Result of a glossary translation.
type Result struct {
	Text    string
	Unknown []string // words not in the glossary, in order, without duplicates
}

// TranslateDetailed translates and reports the unknown words.
func (g *Glossary) TranslateDetailed(text, from, to string) (Result, error) {
	if !language.IsEnglish(to) {
		return Result{}, fmt.Errorf("glossary translates into English only, not %q: %w", to, ErrUnsupportedLanguage)
	}
	if language.IsEnglish(from) {
		return Result{Text: text}, nil
	}
	d, ok := g.dicts[language.Base(from)]
	if !ok {
		return Result{}, fmt.Errorf("glossary has no %q: %w", from, ErrUnsupportedLanguage)
	}
	var res Result
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		lines[i] = d.translateLine(line, &res.Unknown)
	}
	res.Text = strings.Join(lines, "\n")
	return res, nil
}

// token is one whitespace-separated chunk split into leading punctuation,
// the core and trailing punctuation.
type token struct {
	lead, core, trail string
	verbatim          bool // numbers, e-mails, URLs: copied, never translated
}

func tokenize(line string) []token {
	var out []token
	for _, chunk := range strings.Fields(normalize(line, true)) {
		start := strings.IndexFunc(chunk, isWordRune)
		if start < 0 {
			out = append(out, token{lead: chunk, verbatim: true})
			continue
		}
		end := strings.LastIndexFunc(chunk, isWordRune)
		_, size := utf8.DecodeRuneInString(chunk[end:])
		end += size
		t := token{lead: chunk[:start], core: chunk[start:end], trail: chunk[end:]}
		// Keep a trailing apostrophe of an elision ("l'") as part of the core.
		if strings.HasPrefix(t.trail, "'") && t.lead == "" && utf8.RuneCountInString(t.core) <= 3 {
			t.core += "'"
			t.trail = t.trail[1:]
		}
		if strings.ContainsAny(t.core, "@/0123456789_") || strings.Contains(t.core, "://") || strings.Count(t.core, ".") > 0 {
			t.verbatim = true
		}
		out = append(out, t)
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// normalize lowercases (unless keepCase) and turns typographic apostrophes
// into ASCII ones.
func normalize(s string, keepCase ...bool) string {
	s = strings.NewReplacer("’", "'", "‘", "'", "`", "'").Replace(s)
	if len(keepCase) > 0 && keepCase[0] {
		return s
	}
	return strings.ToLower(s)
}

func (d *dictionary) translateLine(line string, unknown *[]string) string {
	toks := tokenize(line)
	start := true // at the start of a sentence
	var b strings.Builder
	emit := func(lead, text, trail string) {
		if text == "" {
			b.WriteString(lead + trail) // a dropped word keeps its punctuation
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(lead + text + trail)
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		n, trail := 1, t.trail
		switch dst, ok := "", false; {
		case t.verbatim:
			emit(t.lead, t.core, t.trail)
		default:
			if n, dst, ok = d.match(toks[i:]); !ok {
				n, dst = 1, d.word(t.core, unknown)
			}
			trail = toks[i+n-1].trail
			emit(t.lead, matchCase(t.core, dst, start), trail)
		}
		start = strings.ContainsAny(trail, ".!?") || (start && strings.TrimSpace(b.String()) == "")
		i += n
	}
	return b.String()
}

// match finds the longest phrase starting at toks[0]; a phrase never spans
// punctuation.
func (d *dictionary) match(toks []token) (n int, dst string, ok bool) {
	words := make([]string, 0, d.longest)
	for j := 0; j < len(toks) && j < d.longest; j++ {
		t := toks[j]
		if t.verbatim || j > 0 && (t.lead != "" || toks[j-1].trail != "") {
			break
		}
		words = append(words, strings.ToLower(t.core))
		if v, found := d.entries[strings.Join(words, " ")]; found {
			n, dst, ok = j+1, v, true
		}
	}
	return n, dst, ok
}

// word translates one word that is not the start of a phrase: a French
// elision ("l'imprimante") is split and both parts translated; otherwise the
// word is marked unknown.
func (d *dictionary) word(core string, unknown *[]string) string {
	lower := strings.ToLower(core)
	if i := strings.IndexByte(lower, '\''); i > 0 && i < len(lower)-1 {
		if h, ok := d.entries[lower[:i+1]]; ok {
			rest := core[i+1:]
			if v, ok := d.entries[strings.ToLower(rest)]; ok {
				rest = v
			} else {
				rest = d.word(rest, unknown)
			}
			return strings.TrimSpace(h + " " + rest)
		}
	}
	if !slices.Contains(*unknown, core) {
		*unknown = append(*unknown, core)
	}
	return "[[" + core + "]]"
}

// matchCase capitalises the translation like the source: an all-caps word
// stays all caps ("PILNE" → "URGENT"), a capitalised word at the start of a
// sentence is capitalised ("Drukarka" → "Printer"); elsewhere the entry's
// case wins, so German nouns ("Rechnung") come out lowercase and "I" stays
// "I". Marked unknown words are left as they are.
func matchCase(src, dst string, sentenceStart bool) string {
	if dst == "" || strings.HasPrefix(dst, "[[") {
		return dst
	}
	r, _ := utf8.DecodeRuneInString(src)
	if !unicode.IsUpper(r) {
		return dst
	}
	if utf8.RuneCountInString(src) > 1 && strings.ToUpper(src) == src && strings.ToLower(src) != src {
		return strings.ToUpper(dst)
	}
	if !sentenceStart {
		return dst
	}
	d, size := utf8.DecodeRuneInString(dst)
	return string(unicode.ToUpper(d)) + dst[size:]
}
