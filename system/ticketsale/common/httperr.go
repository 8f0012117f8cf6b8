package common

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrorItem is one entry of the course's error body.
type ErrorItem struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ErrorBody is the course's error response: {"errors":[{"message","field"}]}.
type ErrorBody struct {
	Errors []ErrorItem `json:"errors"`
}

// HTTPError is an error with a status code and the course's error items.
type HTTPError struct {
	Status int
	Items  []ErrorItem
}

func (e *HTTPError) Error() string {
	msgs := make([]string, len(e.Items))
	for i, it := range e.Items {
		msgs[i] = it.Message
		if it.Field != "" {
			msgs[i] = it.Field + ": " + it.Message
		}
	}
	return fmt.Sprintf("%d %s", e.Status, strings.Join(msgs, "; "))
}

// Course errors (common/src/errors).
var (
	ErrNotAuthorized = &HTTPError{Status: http.StatusUnauthorized, Items: []ErrorItem{{Message: "Not authorized"}}}
	ErrNotFoundHTTP  = &HTTPError{Status: http.StatusNotFound, Items: []ErrorItem{{Message: "Not Found"}}}
)

// BadRequest is the course's BadRequestError (400 with one message).
func BadRequest(msg string) *HTTPError {
	return &HTTPError{Status: http.StatusBadRequest, Items: []ErrorItem{{Message: msg}}}
}

// Validation collects field errors: the course's RequestValidationError.
type Validation []ErrorItem

// Check adds msg for field unless ok.
func (v *Validation) Check(ok bool, field, msg string) {
	if !ok {
		*v = append(*v, ErrorItem{Message: msg, Field: field})
	}
}

// Err is nil without problems, else a 400 with every field error.
func (v Validation) Err() error {
	if len(v) == 0 {
		return nil
	}
	return &HTTPError{Status: http.StatusBadRequest, Items: v}
}

// WriteJSON writes v with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes err in the course's format: an *HTTPError with its
// status, anything else as 400 "Something went wrong" (the course's
// errorHandler).
func WriteError(w http.ResponseWriter, err error) {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		WriteJSON(w, he.Status, ErrorBody{Errors: he.Items})
		return
	}
	WriteJSON(w, http.StatusBadRequest, ErrorBody{Errors: []ErrorItem{{Message: "Something went wrong"}}})
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// DecodeBody reads a JSON object body into v; a missing, oversized or
// malformed body is a 400 whose message says what is wrong.
func DecodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return BadRequest("request body is required")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return BadRequest("request body is required")
		}
		return BadRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return BadRequest("invalid JSON body: more than one value")
	}
	return nil
}

// ReadBody decodes r's body into a T and runs check on it (the course's
// validateRequest); a bad body or a failed check is answered on w (400 with
// every field error) and ok is false.
func ReadBody[T any](w http.ResponseWriter, r *http.Request, check func(b T, v *Validation)) (b T, ok bool) {
	if err := DecodeBody(r, &b); err != nil {
		WriteError(w, err)
		return b, false
	}
	var v Validation
	check(b, &v)
	if err := v.Err(); err != nil {
		WriteError(w, err)
		return b, false
	}
	return b, true
}
