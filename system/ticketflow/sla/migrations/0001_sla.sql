-- One row per ticket SLA (sla.Record). Times are fixed-width UTC text
-- (sortable, readable by checkers); durations are nanoseconds.
CREATE TABLE sla_records (
	ticket_id TEXT PRIMARY KEY,
	service_type TEXT NOT NULL,
	severity TEXT NOT NULL,
	tier TEXT NOT NULL,
	last_known_version INTEGER NOT NULL,
	agent_user_id TEXT NOT NULL DEFAULT '',
	has_deadline INTEGER NOT NULL,
	anchor TEXT NOT NULL,
	window_ns INTEGER NOT NULL,
	paused_ns INTEGER NOT NULL DEFAULT 0,
	blocked_at TEXT NOT NULL DEFAULT '',
	revision INTEGER NOT NULL DEFAULT 0,
	reminder1_sent TEXT NOT NULL DEFAULT '',
	reminder2_sent TEXT NOT NULL DEFAULT '',
	reminder3_sent TEXT NOT NULL DEFAULT '',
	reminder1_skipped INTEGER NOT NULL DEFAULT 0,
	reminder2_skipped INTEGER NOT NULL DEFAULT 0,
	reminder3_skipped INTEGER NOT NULL DEFAULT 0,
	breaches INTEGER NOT NULL DEFAULT 0,
	last_breach_active TEXT NOT NULL DEFAULT '',
	completed INTEGER NOT NULL DEFAULT 0,
	completed_at TEXT NOT NULL DEFAULT '',
	deadline_met INTEGER, -- NULL = not decided yet
	deadline TEXT NOT NULL DEFAULT '', -- effective deadline, for readers
	-- next_due_ms: unix ms of the next reminder or breach (sla.NextDue at save
	-- time); NULL when nothing is pending. The scheduler loop scans it.
	next_due_ms INTEGER,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX sla_records_next_due ON sla_records (next_due_ms) WHERE next_due_ms IS NOT NULL;

-- Every performed scheduler action, once per idempotency key
-- (reminder:<t>:<n>, breach:<t>:<n>): what the effect-exactly-once and SLA
-- checkers count. message_key is the agent message's key ('' = none sent).
CREATE TABLE sla_effects (
	key TEXT PRIMARY KEY,
	ticket_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	n INTEGER NOT NULL,
	due_at TEXT NOT NULL,
	done_at TEXT NOT NULL,
	agent_user_id TEXT NOT NULL DEFAULT '',
	message_key TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE INDEX sla_effects_ticket ON sla_effects (ticket_id);
