// Package payments is ticketsale's payments service: the order replica and
// the payments, charging through the fake gateway.
//
// # Design
//
// POST /api/payments {token, orderId} (auth): 404, 401, 400 "Cannot pay
// for an cancelled order" (the course's text), then a gateway charge of
// price×100 cents in usd, a Payment row and payment:created; 201 {id}. A
// gateway failure answers 400 "Something went wrong", as the course's
// error handler did.
//
// Listeners: order:created (replica insert), order:cancelled and
// order:updated (version rule).
//
// Toggle paymentGuards, fixed: also 400 "Order already paid" (complete, or
// a payment on record) and 400 "Order has expired" (past expiresAt on this
// service's clock); the order id is the gateway's idempotency key; one
// payment per order; a charge of an order learned cancelled is queued in
// refunds and refunded by the refunds loop (every refund-poll). Faithful:
// only the course's checks, no key, no refunds (L1, L2).
package payments
