-- Inbox: one row per (queue, message id) handled; written in the handler's transaction.
CREATE TABLE inbox (
	queue TEXT NOT NULL,
	message_id TEXT NOT NULL,
	type TEXT NOT NULL,
	processed_at TEXT NOT NULL,
	PRIMARY KEY (queue, message_id)
) WITHOUT ROWID;

-- Every duplicate the inbox absorbed (checkers read this).
CREATE TABLE dedup_skips (
	id INTEGER PRIMARY KEY,
	queue TEXT NOT NULL,
	message_id TEXT NOT NULL,
	type TEXT NOT NULL,
	redelivered INTEGER NOT NULL,
	trace_id TEXT NOT NULL,
	skipped_at TEXT NOT NULL
);

-- Outbox: messages written by a handler's transaction, relayed oldest first
-- (id order; rows are never deleted, so ids only grow).
CREATE TABLE outbox (
	id INTEGER PRIMARY KEY,
	message_id TEXT NOT NULL,
	exchange TEXT NOT NULL,
	routing_key TEXT NOT NULL,
	type TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	causation_id TEXT NOT NULL,
	aggregate_id TEXT NOT NULL,
	aggregate_version INTEGER NOT NULL,
	partition_key TEXT NOT NULL,
	headers TEXT NOT NULL, -- JSON object of string headers, including the writer's trace context
	body BLOB NOT NULL,
	created_at TEXT NOT NULL,
	sent_at TEXT,
	attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT ''
);

-- Ordering guard: last applied version per aggregate.
CREATE TABLE aggregate_versions (
	scope TEXT NOT NULL,
	aggregate_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (scope, aggregate_id)
) WITHOUT ROWID;

-- Every ordering-guard decision (checkers read this).
CREATE TABLE order_events (
	id INTEGER PRIMARY KEY,
	scope TEXT NOT NULL,
	aggregate_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	last_version INTEGER NOT NULL, -- 0 when none was applied yet
	message_id TEXT NOT NULL,
	type TEXT NOT NULL,
	outcome TEXT NOT NULL, -- applied | stale | early
	decided_at TEXT NOT NULL
);
