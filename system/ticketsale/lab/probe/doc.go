// Package probe is ticketsale's end-to-end probe, the steady-state check
// "one purchase goes through": a fresh seller lists one ticket, a fresh
// buyer orders it and pays, and the order must show complete before the
// deadline. It is healthy when it does; otherwise the error names the
// step that failed.
package probe
