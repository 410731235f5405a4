-- Demand forecast (central/forecast): a job folds the read model's events
-- into hourly observations per slot and each complete day into the slot's
-- model, off the ingest path. Times in unix ms; hours and days naive-local
-- (sync/bucket): hour = naive-local unix seconds of the hour's start.

-- The last event of each site the job has folded, and the newest event
-- time among them.
CREATE TABLE forecast_sites (
    site     TEXT    PRIMARY KEY,
    seq      INTEGER NOT NULL,
    event_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Per machine × product: its reconstructed stock (level units since
-- level_at), the first day it was seen, and its model (forecast.State,
-- binary; NULL until its first day is folded). day is the last day folded
-- (a copy of the state's, for queries).
CREATE TABLE forecast_slots (
    site       TEXT    NOT NULL,
    machine_id TEXT    NOT NULL,
    product_id TEXT    NOT NULL,
    level      INTEGER NOT NULL,
    level_at   INTEGER NOT NULL,
    first_day  INTEGER NOT NULL,
    day        INTEGER,
    state      BLOB,
    PRIMARY KEY (site, machine_id, product_id)
) WITHOUT ROWID;

-- What each slot sold in each local hour and how long (ms) it was empty in
-- it: the input of the daily fold; hours older than a couple of weeks past
-- the last fold are deleted.
CREATE TABLE forecast_hours (
    site       TEXT    NOT NULL,
    machine_id TEXT    NOT NULL,
    product_id TEXT    NOT NULL,
    hour       INTEGER NOT NULL,
    sold       INTEGER NOT NULL,
    empty_ms   INTEGER NOT NULL,
    PRIMARY KEY (site, hour, machine_id, product_id)
) WITHOUT ROWID;
