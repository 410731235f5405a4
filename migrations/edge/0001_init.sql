-- Edge (site) schema: the system of record for one site.
-- Money is stored in integer minor units (cents); times are unix milliseconds
-- (UTC) unless the column name says otherwise; dates are 'YYYY-MM-DD' in the
-- site's timezone.

CREATE TABLE site (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    site_id      TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    city         TEXT    NOT NULL DEFAULT '',
    timezone     TEXT    NOT NULL,
    token_key    BLOB    NOT NULL,          -- HMAC key that signs access tokens
    created_at   INTEGER NOT NULL
);

CREATE TABLE vending_machines (
    machine_id        TEXT    PRIMARY KEY,
    city              TEXT    NOT NULL,
    building          TEXT    NOT NULL DEFAULT '',
    latitude          REAL,
    longitude         REAL,
    payment_methods   TEXT    NOT NULL DEFAULT '[]',   -- JSON array
    status            TEXT    NOT NULL DEFAULT 'ACTIVE'
                      CHECK (status IN ('ACTIVE','INACTIVE','UNDER_MAINTENANCE','DECOMMISSIONED')),
    temp_max_c        REAL,                            -- NULL: the site default applies
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    decommissioned_at INTEGER
);

CREATE TABLE products (
    product_id  TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    case_pack   INTEGER NOT NULL DEFAULT 0 CHECK (case_pack >= 0),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE machine_inventory (
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    product_id      TEXT    NOT NULL REFERENCES products(product_id),
    price_cents     INTEGER NOT NULL CHECK (price_cents >= 0),
    quantity        INTEGER NOT NULL CHECK (quantity >= 0),
    expiry_date     TEXT,
    low_stock_limit INTEGER NOT NULL DEFAULT 5 CHECK (low_stock_limit >= 0),
    par_level       INTEGER CHECK (par_level IS NULL OR par_level >= 0),
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (machine_id, product_id)
) WITHOUT ROWID;

-- Raw, immutable sales. transaction_id is the idempotency key everywhere.
CREATE TABLE sales_events (
    transaction_id TEXT    PRIMARY KEY,
    machine_id     TEXT    NOT NULL,
    product_id     TEXT    NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    amount_cents   INTEGER NOT NULL CHECK (amount_cents >= 0),
    payment_method TEXT    NOT NULL,
    event_time     INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    body_hash      BLOB    NOT NULL,   -- detects a reused key with a different body
    seq            INTEGER NOT NULL    -- outbox sequence of this sale
) WITHOUT ROWID;

CREATE TABLE telemetry_events (
    id           INTEGER PRIMARY KEY,
    machine_id   TEXT    NOT NULL,
    temperature  REAL,
    power_status TEXT,
    door_status  TEXT,
    event_time   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX telemetry_events_time ON telemetry_events(event_time);

-- Latest known state per machine, kept so alert rules survive a restart.
CREATE TABLE machine_state (
    machine_id        TEXT PRIMARY KEY REFERENCES vending_machines(machine_id),
    last_telemetry_at INTEGER,
    temperature       REAL,
    power_status      TEXT,
    door_status       TEXT,
    temp_high_since   INTEGER,
    door_open_since   INTEGER
);

CREATE TABLE fault_events (
    fault_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    fault_type      TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN','IN_PROGRESS','RESOLVED')),
    event_time      INTEGER NOT NULL,
    reported_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    resolved_by     TEXT,
    idempotency_key TEXT UNIQUE,
    body_hash       BLOB
);
CREATE INDEX fault_events_status ON fault_events(status, machine_id);

CREATE TABLE alerts (
    alert_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    machine_id   TEXT    NOT NULL,
    product_id   TEXT    NOT NULL DEFAULT '',   -- '' for machine-level alerts
    alert_type   TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('OPEN','CLOSED')),
    detail       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    close_reason TEXT
);
-- One open alert per condition.
CREATE UNIQUE INDEX alerts_one_open ON alerts(machine_id, product_id, alert_type) WHERE status = 'OPEN';
CREATE INDEX alerts_status ON alerts(status, alert_type);

-- API clients (the seed's users): client credentials with one role each.
CREATE TABLE clients (
    client_id   TEXT    PRIMARY KEY,
    secret_hash BLOB    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('MACHINE','DRIVER','OPS','FINANCE','ADMIN')),
    machine_id  TEXT,
    name        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK ((role = 'MACHINE') = (machine_id IS NOT NULL))
);

CREATE TABLE audit_logs (
    id           INTEGER PRIMARY KEY,
    entity_type  TEXT    NOT NULL,
    entity_id    TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    performed_by TEXT    NOT NULL,
    performed_at INTEGER NOT NULL,
    detail       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_logs_entity ON audit_logs(entity_type, entity_id);

-- Every fact that leaves the site, in the same transaction as its effect.
-- seq is gap-free per site: 1, 2, 3, ... (assigned by the single writer).
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    event_time INTEGER NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Uplink bookkeeping: last_seq is the highest sequence ever assigned (so
-- trimming the outbox never reuses a number); acked_seq is central's
-- contiguous watermark for this site.
CREATE TABLE sync_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq  INTEGER NOT NULL DEFAULT 0,
    acked_seq INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sync_state (id) VALUES (1);

-- Pre-computed sales aggregates. dim: machine | product | location;
-- win: hour | day | week | month; bucket: unix seconds of the bucket's start
-- in the site's timezone.
CREATE TABLE sales_agg (
    dim           TEXT    NOT NULL,
    win           TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    key           TEXT    NOT NULL,
    tx_count      INTEGER NOT NULL,
    quantity      INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL,
    PRIMARY KEY (dim, win, bucket, key)
) WITHOUT ROWID;
