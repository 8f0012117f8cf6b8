-- The order replica (spec A.2): version taken from the events.
-- expires_at is kept for the fixed mode's expiry guard.
CREATE TABLE orders (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    price      REAL    NOT NULL,
    status     TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    version    INTEGER NOT NULL
);
CREATE TABLE payments (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    stripe_id  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX payments_order ON payments (order_id);
-- Refunds owed for charges of cancelled orders (fixed paymentGuards),
-- done by the refund loop through the gateway.
CREATE TABLE refunds (
    payment_id TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    stripe_id  TEXT NOT NULL,
    state      TEXT NOT NULL,  -- pending or done
    refund_id  TEXT NOT NULL DEFAULT ''
);
