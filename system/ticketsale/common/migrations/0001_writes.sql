-- Every write of a versioned record (master or replica), in commit order:
-- the store write log the lab's version invariants read (spec C.5 TS7).
CREATE TABLE writes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    entity  TEXT    NOT NULL,  -- e.g. "ticket", "ticket-replica", "order", "order-replica"
    id      TEXT    NOT NULL,
    version INTEGER NOT NULL,  -- the version after the write
    data    TEXT    NOT NULL,  -- the record after the write, JSON
    cause   TEXT    NOT NULL,  -- route or subject that caused it
    at      TEXT    NOT NULL   -- service clock, RFC 3339
);
CREATE INDEX writes_entity_id ON writes (entity, id, seq);
