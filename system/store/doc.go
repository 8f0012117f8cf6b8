// Package store is a service's own database: embedded SQLite (modernc.org/sqlite,
// pure Go) in WAL mode, one file per service, with versioned migrations embedded
// in the binary and a transaction API that lets a handler's writes, the inbox
// row and the outbox rows commit atomically.
//
// # Design
//
//	          +-------------------- DB ---------------------+
//	InTx ---> | writer pool: 1 connection, BEGIN IMMEDIATE  | ---> service.db (WAL)
//	Query --> | reader pool: N connections, query_only      | ---> (snapshot reads)
//	          +---------------------------------------------+
//
// SQLite allows one writer at a time. Instead of letting several connections
// race for the write lock (and sleep in the busy handler), all writes go through
// a single pooled connection, so Go's pool queues writers fairly and cheaply.
// Transactions start with BEGIN IMMEDIATE, so a transaction never fails half-way
// by upgrading a read lock. Reads outside a transaction use a separate pool of
// read-only connections; WAL lets them run while a write is in progress. Other
// processes (the lab's invariant checkers) may open the same file read-only at
// any time; the busy timeout covers their checkpoints.
//
// Migrations are sets of files named NNNN_name.sql in an fs.FS (usually an
// embed.FS), grouped by component ("messaging", "tickets"), recorded in the
// table schema_migrations and applied once each, in version order, each in its
// own transaction.
//
// Group commit: InTx calls are handed to one committer goroutine that runs up
// to Config.MaxBatch of them in one SQLite transaction, each inside its own
// SAVEPOINT, and commits once. Having taken a first call, the committer yields
// the processor once, so callers that are runnable but have not reached their
// hand-over yet join the batch, then takes every call already waiting. A call that fails rolls back to its savepoint
// only; a failed commit fails every call of the batch. Each call stays
// all-or-nothing and the calls apply in a serial order, but the commit (the
// WAL write, the dominant cost) is shared; under concurrent load this
// multiplies throughput. Statements run through Tx are prepared once and
// cached (prepared between batches, while the writer connection is free),
// and bound to a batch's transaction once per batch.
//
// Tx.OnCommit registers functions that run after a successful commit, in
// registration order; they never run after a rollback. The messaging layer
// uses them to wake the outbox relay and, with the outbox off in its
// "after-commit" mode, to publish directly after commit (the default
// outbox-off mode publishes inside the transaction, as the original did).
//
// The SQL is kept portable where it is cheap (INSERT ... ON CONFLICT DO
// NOTHING, integer and text columns, no SQLite-only functions in queries) so a
// PostgreSQL backend can be added later behind the same API; it is not built.
//
// # Best practices
//
//   - Do every write of one logical step inside one InTx call; never call
//     DB.Exec or DB.InTx from inside an InTx callback (the callback runs on
//     the committer holding the single writer connection: it would wait for
//     itself until ctx ends).
//   - Keep non-database work (HTTP calls, sleeps) out of InTx callbacks: the
//     callbacks of one batch run one after another.
//   - Keep transactions short: they hold the only writer.
//   - Put business tables in the service's own migration set and keep
//     versions append-only; never edit an applied migration.
//   - Use DB.Query for reads outside transactions; reads inside a transaction
//     see its own uncommitted writes.
package store
