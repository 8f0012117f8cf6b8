-- The outbox relay's lease: one row naming the relay that publishes this
-- database's outbox (service/instance) and until when (wall-clock unix ms).
-- Several processes may share the database; only the holder relays.
CREATE TABLE outbox_relay (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	holder TEXT NOT NULL,
	until_ms INTEGER NOT NULL
);
