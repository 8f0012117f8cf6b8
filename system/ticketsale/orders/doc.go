// Package orders is ticketsale's orders service: the order master and the
// ticket replica.
//
// # Design
//
// Routes: POST /api/orders (auth; 400 "TicketId must be provided", 404
// unknown ticket, 400 "Ticket is already reserved"; expiresAt = now +
// expiration-window, default 60s), GET /api/orders, GET /api/orders/{id}
// (401 for another user's), DELETE /api/orders/{id} (204).
//
// Listeners: ticket:created (replica insert), ticket:updated (version rule),
// expiration:complete (cancel unless complete), payment:created (complete).
//
// Toggles: versionRule, createIdempotent (replica), reserveAtomic (one
// conditional INSERT vs check-then-insert, L11), deleteGuards (L3),
// expirationChecksStatus (L4/L5), paymentGuards (a payment of a cancelled
// order is ignored, completion is published as order:updated: L1, L12).
package orders
