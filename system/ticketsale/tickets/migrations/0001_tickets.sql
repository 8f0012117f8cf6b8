-- The ticket master (spec A.2): order_id is the reserving order ('' = free).
CREATE TABLE tickets (
    id       TEXT    PRIMARY KEY,
    title    TEXT    NOT NULL,
    price    REAL    NOT NULL,
    user_id  TEXT    NOT NULL,
    order_id TEXT    NOT NULL DEFAULT '',
    version  INTEGER NOT NULL
);
-- Orders tickets saw cancelled (fixed cancelChecksOrderId): a late
-- order:created of one of them reserves nothing.
CREATE TABLE cancelled_orders (
    order_id TEXT PRIMARY KEY
);
