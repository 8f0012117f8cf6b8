-- Claims on scheduler actions (sla.SQLClaims): the SLA instances sharing this
-- database each run a scheduler; an instance claims an action before it
-- posts the action's agent message, so only one instance posts it. until_ms
-- is wall-clock unix ms; the action's transaction deletes its claim.
CREATE TABLE sla_claims (
	key TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	until_ms INTEGER NOT NULL
) WITHOUT ROWID;
