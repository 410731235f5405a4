-- Central read model: one SQLite file per central node, fed by the FLEET
-- ingest stream. Money is stored in integer minor units (cents); times are
-- unix milliseconds (UTC) unless the column name says otherwise; bucket keys
-- are naive-local unix seconds (see sync/bucket).

-- Every event ever received, as its envelope JSON. (site, seq) is the key
-- that makes a redelivered batch change nothing.
CREATE TABLE raw_events (
    site        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    event_time  INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    stream_seq  INTEGER NOT NULL,   -- FLEET stream sequence of the batch that carried it
    body        BLOB    NOT NULL,   -- the envelope.Event as JSON
    PRIMARY KEY (site, seq)
) WITHOUT ROWID;

-- Sales, the source Rebuild recomputes every aggregate from. transaction_id
-- is the idempotency key everywhere: a second sale with the same id changes
-- nothing.
CREATE TABLE sales (
    transaction_id TEXT    PRIMARY KEY,
    site           TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    machine_id     TEXT    NOT NULL,
    product_id     TEXT    NOT NULL,
    city           TEXT    NOT NULL,
    location       TEXT    NOT NULL,
    quantity       INTEGER NOT NULL,
    amount_cents   INTEGER NOT NULL,
    payment_method TEXT    NOT NULL,
    event_time     INTEGER NOT NULL
) WITHOUT ROWID;

-- Pre-computed sales aggregates by event time.
-- dim: machine | site | city | product; win: hour | day | week | month;
-- bucket: naive-local unix seconds of the bucket's start in the site's
-- timezone. (site, city) is the scope a row covers:
--   (S, C)    every dim, per site and city (site and machine rows live only here);
--   ('*', C)  city and product, all sites of city C;
--   ('**', '') product, the whole fleet.
-- '*' and '**' are never site ids, so no scope collides with a real site.
-- Filters pick the narrowest scope that answers them, so a query reads only
-- the rows it returns.
CREATE TABLE sales_agg (
    dim           TEXT    NOT NULL,
    win           TEXT    NOT NULL,
    site          TEXT    NOT NULL,
    city          TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    key           TEXT    NOT NULL,
    tx_count      INTEGER NOT NULL,
    quantity      INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL,
    PRIMARY KEY (dim, win, site, city, bucket, key)
) WITHOUT ROWID;

-- Every (site, city) pair that has sales: the scopes queries join through.
CREATE TABLE sales_scopes (
    site TEXT NOT NULL,
    city TEXT NOT NULL,
    PRIMARY KEY (site, city)
) WITHOUT ROWID;
CREATE INDEX sales_scopes_city ON sales_scopes(city, site);

-- Latest known machine state per site (machine events). seq is the event
-- that wrote the row: an older event never overwrites a newer one.
CREATE TABLE machines (
    site            TEXT    NOT NULL,
    machine_id      TEXT    NOT NULL,
    city            TEXT    NOT NULL,
    building        TEXT    NOT NULL,
    latitude        REAL,
    longitude       REAL,
    payment_methods TEXT    NOT NULL,   -- JSON array
    status          TEXT    NOT NULL,
    temp_max_c      REAL,
    action          TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    event_time      INTEGER NOT NULL,
    PRIMARY KEY (site, machine_id)
) WITHOUT ROWID;
CREATE INDEX machines_id ON machines(machine_id);
CREATE INDEX machines_city ON machines(city);

-- Products on machines (inventory events) and their last reported count
-- (inventory and stock events). info_seq and qty_seq guard the two halves
-- separately: a stock movement changes only the count.
CREATE TABLE machine_products (
    site            TEXT    NOT NULL,
    machine_id      TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    price_cents     INTEGER NOT NULL DEFAULT 0,
    quantity        INTEGER NOT NULL DEFAULT 0,
    expiry_date     TEXT    NOT NULL DEFAULT '',
    low_stock_limit INTEGER NOT NULL DEFAULT 0,
    par_level       INTEGER,
    case_pack       INTEGER NOT NULL DEFAULT 0,
    info_seq        INTEGER NOT NULL DEFAULT 0,
    qty_seq         INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,          -- event time of the newest applied event
    PRIMARY KEY (site, machine_id, product_id)
) WITHOUT ROWID;

-- Latest telemetry per machine.
CREATE TABLE machine_telemetry (
    site         TEXT    NOT NULL,
    machine_id   TEXT    NOT NULL,
    temperature  REAL,
    power_status TEXT    NOT NULL DEFAULT '',
    door_status  TEXT    NOT NULL DEFAULT '',
    seq          INTEGER NOT NULL,
    event_time   INTEGER NOT NULL,
    PRIMARY KEY (site, machine_id)
) WITHOUT ROWID;

-- Faults fleet-wide, latest status. fault_id is unique within its site.
CREATE TABLE faults (
    site        TEXT    NOT NULL,
    fault_id    INTEGER NOT NULL,
    machine_id  TEXT    NOT NULL,
    fault_type  TEXT    NOT NULL,
    description TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    reported_at INTEGER NOT NULL,
    resolved_at INTEGER,
    updated_by  TEXT    NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL,
    event_time  INTEGER NOT NULL,
    PRIMARY KEY (site, fault_id)
) WITHOUT ROWID;
CREATE INDEX faults_status ON faults(status, site);
CREATE INDEX faults_machine ON faults(machine_id);

-- Alerts fleet-wide, latest status. alert_id is unique within its site.
CREATE TABLE alerts (
    site        TEXT    NOT NULL,
    alert_id    INTEGER NOT NULL,
    machine_id  TEXT    NOT NULL,
    product_id  TEXT    NOT NULL,
    alert_type  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    seq         INTEGER NOT NULL,
    event_time  INTEGER NOT NULL,
    PRIMARY KEY (site, alert_id)
) WITHOUT ROWID;
CREATE INDEX alerts_status ON alerts(status, alert_type);
CREATE INDEX alerts_machine ON alerts(machine_id);

-- Per-site uplink state. contiguous: highest seq with no gap below it (the
-- watermark sent back to the site); max_seen: highest seq received at all;
-- backlog: max_seen - contiguous, events held above a gap.
CREATE TABLE sites (
    site            TEXT    PRIMARY KEY,
    tz              TEXT    NOT NULL,
    contiguous      INTEGER NOT NULL DEFAULT 0,
    max_seen        INTEGER NOT NULL DEFAULT 0,
    last_event_time INTEGER NOT NULL DEFAULT 0,   -- newest event time received
    last_contact    INTEGER NOT NULL DEFAULT 0,   -- when central last received a batch
    backlog         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The stream position this node's read model has consumed, per consumer.
CREATE TABLE stream_position (
    consumer   TEXT    PRIMARY KEY,
    stream_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
