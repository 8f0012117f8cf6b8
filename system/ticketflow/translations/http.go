package translations

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/httpjson"
	"github.com/ticketflow-lab/tflab/system/ticketflow/language"
)

// TranslateRequest is the body of POST /translations (sync flow). The
// original took only {text}; languageCode is an optional extension, detected
// when absent.
type TranslateRequest struct {
	Text         string `json:"text"`
	LanguageCode string `json:"languageCode"`
}

// Register mounts GET / and POST /translations on mux. POST answers the
// translated text as text/plain, like the original's string result; an
// unsupported language is 400, a provider failure 502.
func Register(mux *http.ServeMux, p Provider, det *language.Detector, log *slog.Logger) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "TicketFlow.Services.Translations ("+contracts.Translations.AppName+")")
	})
	mux.HandleFunc("POST /translations", func(w http.ResponseWriter, r *http.Request) {
		var req TranslateRequest
		if err := httpjson.Decode(r, &req); err != nil {
			httpjson.Error(w, log, err)
			return
		}
		if strings.TrimSpace(req.Text) == "" {
			httpjson.Error(w, log, httpjson.Badf("text is required"))
			return
		}
		lang := req.LanguageCode
		if lang == "" && det != nil {
			lang = det.Detect(req.Text).Code
		}
		if lang == "" {
			httpjson.Error(w, log, httpjson.Badf("languageCode is required"))
			return
		}
		out, err := p.Translate(r.Context(), req.Text, lang, language.English)
		switch {
		case errors.Is(err, ErrUnsupportedLanguage):
			httpjson.Error(w, log, httpjson.BadRequest(err))
			return
		case err != nil:
			httpjson.Error(w, log, &httpjson.StatusError{Code: http.StatusBadGateway, Err: err})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, out)
	})
}

// NewHandler is Register on a fresh mux.
func NewHandler(p Provider, det *language.Detector, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	Register(mux, p, det, log)
	return mux
}
