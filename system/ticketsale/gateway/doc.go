// Package gateway is the fake payment gateway, the Stripe stand-in that
// payments charges: a service of its own, with its charges in its store.
//
// # Design
//
// POST /v1/charges {amount, currency, source, orderId} with an optional
// Idempotency-Key header: a key seen before replays its charge (nothing
// new taken, as Stripe); without one every call charges. Knobs (GET/PUT
// /lab/knobs, initial settings latency, refusal-rate, timeout-charged-rate):
// latency of every call; a share of charges declined (402 card_declined;
// the token tok_chargeDeclined always is); a share taken and then answered
// 504, as a gateway that timed out after charging (L13). POST /v1/refunds
// {charge} refunds once. GET /v1/charges[?orderId=] lists every charge with
// its key, timed-out and refunded flags, for checkers. Draws come from a
// source seeded by the run seed.
package gateway
