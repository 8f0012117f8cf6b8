// Package common is ticketsale's shared vocabulary, like the course's npm
// package @sgtickets/common: event subjects and payloads (spec A.3),
// OrderStatus, the exchange, routing keys and queue names (spec C.3), the
// faithful/fixed toggles, the version rule, the session JWT and the
// currentUser/requireAuth middlewares, the course's error bodies, and the
// write log every versioned record appends to.
//
// # Design
//
// Subjects keep the course's spelling ("ticket:created"); the AMQP type of
// a message is its subject and the routing key replaces ':' by '.'.
// Payload fields keep the course's JSON names (id, version, title, price,
// userId, orderId, status, expiresAt as an ISO string, ticket {id, price},
// stripeId).
//
// DecideVersion is the replica rule of spec A.5 in its three modes: off
// (apply as it comes), strict (the course: apply only stored+1, fail
// anything else, so a duplicate of an applied update is redelivered
// forever) and strict+skipApplied (the fix: ack and drop stored ≥ event).
//
// The session is the course's cookie-session: a cookie "session" whose
// value is base64 of {"jwt": "<HS256 JWT of {id, email, iat}>"}, signed
// with the shared key (setting jwt-key). RequireAuth answers 401
// {"errors":[{"message":"Not authorized"}]}; DecodeBody and Validation give
// 400 with messages in the course's {"errors":[{message, field}]} shape.
//
// # Best practices
//
//   - Decide replica updates with DecideVersion; never compare versions by
//     hand.
//   - Append every write of a versioned record with RecordWrite in the same
//     transaction.
//   - Check a toggle with Toggles.Fixed or IsFaithful, never by name.
package common
