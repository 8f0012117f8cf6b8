// Package httpget does the one HTTP request the lab's plumbing repeats: a
// GET bounded by its own timeout that succeeds only on 200 OK, optionally
// decoding a JSON body. Service health checks (internal/lab), the
// Toxiproxy API probe and the Jaeger query client use it.
//
// # Best practices
//
//   - Pass a short timeout: callers poll with their own deadline, and one
//     hung request must not eat it.
//   - Wrap the error with the caller's context (e.g. "jaeger: %w"); the
//     error already names the method and URL.
package httpget
