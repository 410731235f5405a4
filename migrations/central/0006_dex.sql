-- DEX reconciliations, driver visits and cash collections from the sites
-- (edge/dex/audit events: dex_reconciliation, visit, cash_collection).
-- Each is an immutable fact keyed by its site and its id. Money in cents,
-- times in unix milliseconds.

CREATE TABLE dex_reconciliations (
    site              TEXT    NOT NULL,
    reconciliation_id INTEGER NOT NULL,
    machine_id        TEXT    NOT NULL,
    from_at           INTEGER NOT NULL,
    to_at             INTEGER NOT NULL,
    machine_count     INTEGER NOT NULL,
    machine_cents     INTEGER NOT NULL,
    ledger_count      INTEGER NOT NULL,
    ledger_cents      INTEGER NOT NULL,
    unreported_count  INTEGER NOT NULL,
    unreported_cents  INTEGER NOT NULL,
    missing_count     INTEGER NOT NULL,
    missing_cents     INTEGER NOT NULL,
    price_mismatches  INTEGER NOT NULL,
    test_vends        INTEGER NOT NULL,
    free_vends        INTEGER NOT NULL,
    alerted           INTEGER NOT NULL,
    uploaded_by       TEXT    NOT NULL,
    seq               INTEGER NOT NULL,
    PRIMARY KEY (site, reconciliation_id)
) WITHOUT ROWID;
CREATE INDEX dex_reconciliations_time ON dex_reconciliations (to_at);

CREATE TABLE visits (
    site        TEXT    NOT NULL,
    visit_id    TEXT    NOT NULL,
    machine_id  TEXT    NOT NULL,
    arrived_at  INTEGER NOT NULL,
    left_at     INTEGER NOT NULL,
    driver      TEXT    NOT NULL,
    notes       TEXT    NOT NULL,
    actions     TEXT    NOT NULL,   -- JSON array
    seq         INTEGER NOT NULL,
    PRIMARY KEY (site, visit_id)
) WITHOUT ROWID;
CREATE INDEX visits_machine ON visits (site, machine_id, left_at);

CREATE TABLE cash_collections (
    site            TEXT    NOT NULL,
    collection_id   TEXT    NOT NULL,
    machine_id      TEXT    NOT NULL,
    collected_at    INTEGER NOT NULL,
    amount_cents    INTEGER NOT NULL,
    currency        TEXT    NOT NULL,
    driver          TEXT    NOT NULL,
    expected_ledger INTEGER NOT NULL,
    expected_dex    INTEGER,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (site, collection_id)
) WITHOUT ROWID;
CREATE INDEX cash_collections_time ON cash_collections (collected_at);
