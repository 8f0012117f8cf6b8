-- The ticket replica (spec A.2): follows the master's version.
CREATE TABLE tickets (
    id      TEXT    PRIMARY KEY,
    title   TEXT    NOT NULL,
    price   REAL    NOT NULL,
    version INTEGER NOT NULL
);
-- The order master. expires_at is RFC 3339 UTC text (orders' clock).
CREATE TABLE orders (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    ticket_id  TEXT    NOT NULL,
    version    INTEGER NOT NULL
);
CREATE INDEX orders_ticket ON orders (ticket_id, status);
CREATE INDEX orders_user ON orders (user_id);
