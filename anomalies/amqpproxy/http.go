package amqpproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Handler serves the rules and evidence API as JSON, for the lab API to
// mount (paths are relative to where it is mounted):
//
//	GET    /faults        list rules with counters          200 [RuleStatus]
//	POST   /faults        add a rule (body: Rule)           201 RuleStatus | 400 | 409
//	GET    /faults/{id}   one rule                          200 RuleStatus | 404
//	DELETE /faults/{id}   remove a rule                     204 | 404
//	DELETE /faults        remove every rule                 204
//	GET    /evidence      counters, events, ack timers      200 Evidence
//	DELETE /evidence      reset counters and events         204
//
// Errors are {"error": "..."}.
func (p *Proxy) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.Rules())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var rule Rule
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rule); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("decode rule: %w", err))
			return
		}
		added, err := p.AddRule(rule)
		switch {
		case errors.Is(err, ErrRuleExists):
			writeError(w, http.StatusConflict, err)
		case err != nil:
			writeError(w, http.StatusBadRequest, err)
		default:
			st, _ := p.Rule(added.ID)
			writeJSON(w, http.StatusCreated, st)
		}
	})
	mux.HandleFunc("GET /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		st, err := p.Rule(r.PathValue("id"))
		if err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := p.RemoveRule(r.PathValue("id")); err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		p.ClearRules()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /evidence", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, p.Evidence())
	})
	mux.HandleFunc("DELETE /evidence", func(w http.ResponseWriter, _ *http.Request) {
		p.ResetEvidence()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
