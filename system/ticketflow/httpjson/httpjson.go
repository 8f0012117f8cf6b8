package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// MaxBody is the default request body limit (1 MiB).
const MaxBody = 1 << 20

// ErrorBody is the original error shape: {"message": "..."}.
type ErrorBody struct {
	Message string `json:"message"`
}

// StatusCoder is implemented by errors that know their HTTP status.
type StatusCoder interface {
	error
	StatusCode() int
}

// StatusError is an error with an HTTP status.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string   { return e.Err.Error() }
func (e *StatusError) Unwrap() error   { return e.Err }
func (e *StatusError) StatusCode() int { return e.Code }

// BadRequest marks err as a 400.
func BadRequest(err error) error { return &StatusError{Code: http.StatusBadRequest, Err: err} }

// NotFound marks err as a 404.
func NotFound(err error) error { return &StatusError{Code: http.StatusNotFound, Err: err} }

// Conflict marks err as a 409.
func Conflict(err error) error { return &StatusError{Code: http.StatusConflict, Err: err} }

// Badf is BadRequest(fmt.Errorf(...)).
func Badf(format string, args ...any) error { return BadRequest(fmt.Errorf(format, args...)) }

// StatusOf returns the status an error maps to: its StatusCoder's code
// anywhere in the chain, else 500.
func StatusOf(err error) int {
	if sc, ok := errors.AsType[StatusCoder](err); ok {
		return sc.StatusCode()
	}
	return http.StatusInternalServerError
}

// Write writes v as JSON with status code.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Error writes err as {"message": ...} with the status of StatusOf. 5xx
// errors are logged on log (nil = not logged). Errors without a StatusCoder
// are answered with a generic "internal error" so details do not leak.
func Error(w http.ResponseWriter, log *slog.Logger, err error) {
	code := StatusOf(err)
	msg := err.Error()
	if code >= 500 && log != nil {
		log.Error("Request failed", "err", err)
	}
	if _, ok := errors.AsType[StatusCoder](err); !ok {
		msg = "internal error"
	}
	Write(w, code, ErrorBody{Message: msg})
}

// Decode reads a JSON body into v, at most MaxBody bytes. Any failure is a
// 400 error with a message naming the problem.
func Decode(r *http.Request, v any) error {
	body := http.MaxBytesReader(nil, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return Badf("request body is empty")
		}
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return Badf("request body exceeds %d bytes", MaxBody)
		}
		return Badf("invalid JSON body: %v", err)
	}
	if dec.More() {
		return Badf("invalid JSON body: more than one value")
	}
	return nil
}
