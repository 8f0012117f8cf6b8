// Package httpjson is the small JSON-over-HTTP toolkit of the Ticketflow
// services: write a JSON body, write the original error body {"message": ...},
// decode a request body with a size limit, and map domain errors to status
// codes.
//
// # Design
//
// Domain packages return typed errors. A handler calls Error(w, err) and the
// error decides its status: anything implementing StatusCoder chooses its own
// (validation errors say 400, not-found 404), everything else is 500 with a
// generic message so internal details do not leak.
//
//	handler ── err ──▶ Error(w, err) ──▶ StatusCoder? ── yes ─▶ code, err.Error()
//	                                                   └─ no ──▶ 500 "internal error"
//
// # Differences from the original
//
// The original returned 400 {message} only in Tickets (ExceptionMiddleware);
// Communication surfaced validation failures as 500 (spec §12.6 #15). Here
// every service uses the same mapping, so bad input is always 400.
//
// # Best practices
//
//   - Give every domain error type a StatusCode method, or wrap it with
//     BadRequest / NotFound / Conflict.
//   - Decode with a limit; unknown fields are accepted (clients may send more).
package httpjson
