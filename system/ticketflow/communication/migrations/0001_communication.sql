-- Inbox messages. idempotency_key is the effect's key as the producer sent
-- it (kept on every row, so checkers can count duplicates); dedup_key is the
-- same key when the "idempotency" protection is on and NULL when it is off,
-- so only the protected store absorbs a repeated key (NULLs never conflict).
CREATE TABLE messages (
	seq INTEGER PRIMARY KEY, -- insertion order
	id TEXT NOT NULL UNIQUE,
	recipent_email TEXT NOT NULL DEFAULT '',
	recipent_user_id TEXT NOT NULL DEFAULT '',
	sender_user_id TEXT NOT NULL DEFAULT '',
	title TEXT NOT NULL,
	content TEXT NOT NULL,
	timestamp TEXT NOT NULL, -- fixed-width UTC, text order = time order
	is_read INTEGER NOT NULL DEFAULT 0,
	idempotency_key TEXT NOT NULL DEFAULT '',
	dedup_key TEXT UNIQUE
);

CREATE INDEX messages_recipient ON messages (recipent_user_id, timestamp);
CREATE INDEX messages_key ON messages (idempotency_key);

-- Alerts, with the same key scheme as messages.
CREATE TABLE alerts (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	message TEXT NOT NULL,
	type TEXT NOT NULL,
	created_at TEXT NOT NULL,
	is_read INTEGER NOT NULL DEFAULT 0,
	idempotency_key TEXT NOT NULL DEFAULT '',
	dedup_key TEXT UNIQUE
);

CREATE INDEX alerts_created ON alerts (created_at);
CREATE INDEX alerts_key ON alerts (idempotency_key);
