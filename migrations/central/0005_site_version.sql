-- The versions each site last reported in its heartbeat: its binary's
-- version and its envelope version, so HQ sees a roll-out's progress.
-- Written only when they change.
CREATE TABLE site_version (
    site     TEXT    PRIMARY KEY,
    binary   TEXT    NOT NULL,
    envelope INTEGER NOT NULL,
    at       INTEGER NOT NULL
) WITHOUT ROWID;
