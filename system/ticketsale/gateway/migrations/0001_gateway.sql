-- Charges the fake gateway took. idempotency_key '' = sent without one.
CREATE TABLE charges (
    id              TEXT    PRIMARY KEY,
    amount          INTEGER NOT NULL,
    currency        TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    timed_out       INTEGER NOT NULL,  -- 1: the caller was answered 504 although charged
    refunded        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL
);
CREATE UNIQUE INDEX charges_idempotency ON charges (idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX charges_order ON charges (order_id);
CREATE TABLE refunds (
    id         TEXT PRIMARY KEY,
    charge_id  TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
