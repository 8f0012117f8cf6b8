// Package tickets is ticketsale's tickets service: the ticket master.
//
// # Design
//
// Routes: POST /api/tickets (auth; 400 "Title is required", "Price must be
// greater than 0"), GET /api/tickets (free tickets only), GET
// /api/tickets/{id}, PUT /api/tickets/{id} (auth; 404, 400 "Cannot edit a
// reserved ticket", 401 for another user's ticket). Every save bumps the
// version with an OCC update and publishes it: ticket:created (version 0)
// or ticket:updated (with orderId when reserved).
//
// Listeners: order:created reserves the ticket (orderId) and order:cancelled
// releases it, each publishing ticket:updated (spec A.5 item 7: every
// version bump is published). Toggles: createIdempotent (a duplicate
// order:created changes nothing), cancelChecksOrderId (release only the
// holder's reservation, and never reserve for an order already seen
// cancelled: L4, L7).
package tickets
