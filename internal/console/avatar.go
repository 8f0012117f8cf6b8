package console

import (
	"fmt"
	"hash/fnv"
	"html"
	"net/http"
	"strings"
	"unicode"
)

// The desk's agent avatars: the original loaded them from an external
// site (api.dicebear.com); the console draws them itself, the agent's
// initials on a colour derived from the name, so the desk works offline.

// avatarColors are the avatars' backgrounds (white text reads on each).
var avatarColors = []string{"#1565c0", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#ef6c00", "#4e342e", "#37474f"}

// initials are the first letters of a name's first and last words, upper
// case ("?" for a name without letters).
func initials(name string) string {
	var letters []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) {
				letters = append(letters, unicode.ToUpper(r))
				break
			}
		}
	}
	switch len(letters) {
	case 0:
		return "?"
	case 1:
		return string(letters)
	}
	return string([]rune{letters[0], letters[len(letters)-1]})
}

// avatarSVG draws a name's avatar: a circle and its initials.
func avatarSVG(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	color := avatarColors[h.Sum32()%uint32(len(avatarColors))]
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32" role="img" aria-label="%s">`+
		`<circle cx="16" cy="16" r="16" fill="%s"/>`+
		`<text x="16" y="16" dy="0.35em" text-anchor="middle" font-family="system-ui, sans-serif" font-size="13" font-weight="600" fill="#fff">%s</text></svg>`,
		html.EscapeString(name), color, html.EscapeString(initials(name)))
}

// avatar serves /desk/avatar?name=NAME as an SVG image.
func (c *Console) avatar(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if len(name) > 200 {
		http.Error(w, "name: at most 200 bytes", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=86400")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write([]byte(avatarSVG(name)))
}
