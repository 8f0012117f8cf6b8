-- Tickets (the ticket aggregate; id = inquiry id) and translations that
-- arrived before their ticket (TicketScheduledActions in the original).
-- Times are UTC text in a fixed-width format, so text order is time order.
CREATE TABLE tickets (
    id                     TEXT    PRIMARY KEY,
    inquiry_id             TEXT    NOT NULL,
    name                   TEXT    NOT NULL,
    email                  TEXT    NOT NULL,
    title                  TEXT    NOT NULL,
    description            TEXT    NOT NULL,
    language_code          TEXT    NOT NULL,
    created_at             TEXT    NOT NULL,
    type                   TEXT    NOT NULL,
    status                 TEXT    NOT NULL,
    severity               TEXT    NOT NULL,
    category               TEXT    NOT NULL,
    translated_description TEXT    NOT NULL,
    notes                  TEXT    NOT NULL,
    internal_notes         TEXT    NOT NULL,
    assigned_to            TEXT    NOT NULL,
    version                INTEGER NOT NULL,
    deadline_utc           TEXT    NOT NULL, -- '' = unknown
    deadline_revision      INTEGER NOT NULL,
    resolution             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL
);
CREATE INDEX tickets_newest ON tickets (created_at DESC, id);
CREATE INDEX tickets_status ON tickets (status);

CREATE TABLE parked_translations (
    reference_id    TEXT    PRIMARY KEY,
    translated_text TEXT    NOT NULL,
    skipped         INTEGER NOT NULL,
    parked_at       TEXT    NOT NULL
);
