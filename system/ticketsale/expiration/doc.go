// Package expiration is ticketsale's expiration service: a durable delayed
// job scheduler in its own store, in place of the course's Bull queue on
// Redis ("order:expiration").
//
// # Design
//
// order:created adds a job due at the order's expiresAt, compared with this
// service's clock (so a skewed clock moves the window, L14). The worker
// looks for due jobs every expiration-poll (default 250ms) and, per job,
// marks it done and publishes expiration:complete {orderId} in one
// transaction. Jobs are rows, so they survive a restart.
//
// Toggles: expirationJobId (job id = order id, a duplicate order:created
// schedules nothing, vs a random id: L5); outbox (the event goes through
// the outbox, vs published after the commit and lost if that fails while
// the job stays done: L9).
package expiration
