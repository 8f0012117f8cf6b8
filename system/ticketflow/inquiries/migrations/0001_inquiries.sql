-- Customer inquiries (table Inquiries in the original). Times are UTC text in
-- a fixed-width format, so text order is time order.
CREATE TABLE inquiries (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    status        TEXT NOT NULL,
    category      TEXT NOT NULL,
    ticket_id     TEXT NOT NULL, -- '' until the ticket is created
    language_code TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX inquiries_newest ON inquiries (created_at DESC, id);
