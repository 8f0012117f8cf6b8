-- One row per process start of this service instance. The count seeds the
-- instance's id source together with the run's seed, so a restarted process
-- never repeats the message and entity ids of an earlier start (a repeated
-- message id would be swallowed downstream as a duplicate).
CREATE TABLE app_starts (
    n          INTEGER PRIMARY KEY,
    started_at TEXT    NOT NULL,
    pid        INTEGER NOT NULL
);
