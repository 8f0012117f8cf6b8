// Package snapshot is ticketsale's snapshot at the end of a run: every
// service's store, read only, into typed records the invariants (TS1–TS13)
// judge. It is plain data with JSON field names, so a saved run is judged
// again offline with the same result.
//
// # Design
//
//	tickets store    ─▶ Tickets (masters), TicketsSawCancelled, Writes
//	orders store     ─▶ TicketReplicas, Orders (masters), Writes
//	payments store   ─▶ OrderReplicas, Payments, PaymentRefunds, Writes
//	expiration store ─▶ Jobs
//	gateway store    ─▶ Charges (with their refunds)
//	auth store       ─▶ Users (a count)
//
// Read opens each database with sut.OpenReadOnly. The replicas of one
// service share their service's database, so every record names the store
// (the service) and the instance whose path was read. A database that does not exist, or
// lacks a table, contributes nothing; Stores lists what was read, so an
// invariant can tell "no store" from "no rows".
//
// Times are parsed into UTC time.Time (zero when the column is empty);
// records are sorted by id (the write log by store, then sequence), so two
// reads of the same files are equal.
//
// # Best practices
//
//   - Decode a snapshot saved in a history with Decode; never unmarshal it
//     by hand into another shape.
//   - Judge "replica at the owner's version" with Tickets and
//     TicketReplicas, and version steps with Writes (per store and
//     entity, in Seq order).
package snapshot
