-- DEX/EVA-DTS audits, their reconciliation against the sales ledger, and a
-- driver's proof of service (visits) and cash collections (edge/dex/audit).
-- Money in cents, times in unix milliseconds (UTC).

-- One uploaded DEX file. The same file for the same machine is a replay.
CREATE TABLE dex_reads (
    read_id         INTEGER PRIMARY KEY,
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    read_at         INTEGER NOT NULL,   -- when the meters were read
    received_at     INTEGER NOT NULL,
    body_hash       BLOB    NOT NULL,   -- sha256 of the file
    raw             TEXT    NOT NULL,
    audit           TEXT    NOT NULL,   -- the parsed file (JSON)
    answer          TEXT    NOT NULL,   -- the answer given (JSON), replayed as is
    cash_sales_init INTEGER,            -- CA201 in cents; NULL when the file has none
    uploaded_by     TEXT    NOT NULL,
    UNIQUE (machine_id, body_hash)
);
CREATE INDEX dex_reads_machine_time ON dex_reads (machine_id, read_at);

-- One comparison of two reads of a machine with the ledger between them.
CREATE TABLE reconciliations (
    reconciliation_id INTEGER PRIMARY KEY,
    machine_id        TEXT    NOT NULL,
    from_read_id      INTEGER NOT NULL REFERENCES dex_reads(read_id),
    to_read_id        INTEGER NOT NULL UNIQUE REFERENCES dex_reads(read_id),
    from_at           INTEGER NOT NULL,
    to_at             INTEGER NOT NULL,
    unreported_cents  INTEGER NOT NULL,
    detail            TEXT    NOT NULL,   -- the reconciliation as answered (JSON)
    seq               INTEGER NOT NULL,   -- outbox sequence of its event
    created_at        INTEGER NOT NULL
);
CREATE INDEX reconciliations_machine_time ON reconciliations (machine_id, to_at);
CREATE INDEX reconciliations_time ON reconciliations (to_at);

-- Proof of service. visit_id is the client's idempotency key.
CREATE TABLE visits (
    visit_id    TEXT    PRIMARY KEY,
    machine_id  TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    arrived_at  INTEGER NOT NULL,
    left_at     INTEGER NOT NULL CHECK (left_at >= arrived_at),
    driver      TEXT    NOT NULL,
    notes       TEXT    NOT NULL DEFAULT '',
    actions     TEXT    NOT NULL,   -- JSON array
    recorded_by TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL,
    body_hash   BLOB    NOT NULL,
    answer      TEXT    NOT NULL,
    seq         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visits_machine_time ON visits (machine_id, left_at);

-- Cash taken out of a machine. collection_id is the client's idempotency key.
CREATE TABLE cash_collections (
    collection_id   TEXT    PRIMARY KEY,
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    collected_at    INTEGER NOT NULL,
    amount_cents    INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency        TEXT    NOT NULL DEFAULT '',
    driver          TEXT    NOT NULL,
    notes           TEXT    NOT NULL DEFAULT '',
    expected_ledger INTEGER NOT NULL,
    expected_dex    INTEGER,
    recorded_by     TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL,
    body_hash       BLOB    NOT NULL,
    answer          TEXT    NOT NULL,
    seq             INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX cash_collections_machine_time ON cash_collections (machine_id, collected_at);

-- Cash sales of a machine in a period (expected cash from the ledger).
CREATE INDEX sales_events_machine_pay_time ON sales_events (machine_id, payment_method, event_time);
