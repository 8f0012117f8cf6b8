-- Delayed jobs of the queue "order:expiration" (the course's Bull queue):
-- durable, so they survive a restart. due_ms is the order's expiresAt in
-- Unix milliseconds; the job runs when the service clock reaches it.
CREATE TABLE jobs (
    id         TEXT    PRIMARY KEY,
    order_id   TEXT    NOT NULL,
    due_ms     INTEGER NOT NULL,
    state      TEXT    NOT NULL,  -- waiting or done
    created_at TEXT    NOT NULL,
    done_at    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX jobs_due ON jobs (state, due_ms);
