// Package client speaks ticketsale's public HTTP routes as the course's
// front end does: sign up (the session cookie comes back), create and
// reprice tickets, place, read and cancel orders, pay. The workload driver,
// the end-to-end probe and `tflab load` use it.
//
// # Design
//
// A Client holds the base URLs of every service instance and spreads
// requests over a service's instances in turn. A User is a signed-up
// account with its session cookie; every call takes ctx first and returns a
// Reply: the HTTP status, the course's first error message for a 4xx/5xx,
// and the decoded body for a 2xx. A transport error is returned as the
// error, a non-2xx status is not: the caller decides what a 400 means.
//
// # Best practices
//
//   - Give each call a ctx with a deadline; Client.HTTP's timeout bounds one
//     request only.
//   - Treat 404 on POST /api/orders and /api/payments as "the replica has
//     not heard of it yet" and retry with a poll, as a user would.
package client
