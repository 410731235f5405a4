-- Inventory beyond the machines (issue 11): SKUs, depots and driver vans
-- (central-owned locations), and one stock-movement ledger.
--
-- inventory_movements holds every movement central records: at depots and
-- vans (written at central: transfers, receipts, bulk updates, channel
-- syncs, van deductions when a restock that names a van arrives), and at
-- machines as the sites report them (stock events, one row per event).
-- Machine sales are not copied here: the ledger queries read them from
-- sales, so the sale path writes nothing more. quantity is signed; idem_key
-- makes each movement count once. unit_cost_cents and lot_id stay NULL
-- until lots and receipts at cost fill them.
--
-- inventory_stock is the running balance per location and product: the sum
-- of the location's movements, maintained in the same transaction.

CREATE TABLE skus (
    sku         TEXT    PRIMARY KEY,
    product_id  TEXT    NOT NULL,
    variant     TEXT    NOT NULL DEFAULT '',
    barcode     TEXT    UNIQUE,
    name        TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX skus_product ON skus (product_id);

CREATE TABLE depots (
    depot_id    TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    city        TEXT    NOT NULL DEFAULT '',
    address     TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE vans (
    van_id      TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    depot_id    TEXT    NOT NULL REFERENCES depots (depot_id),
    driver      TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE inventory_movements (
    movement_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key        TEXT    NOT NULL UNIQUE,
    location_kind   TEXT    NOT NULL CHECK (location_kind IN ('depot', 'van', 'machine')),
    location_id     TEXT    NOT NULL,
    site            TEXT    NOT NULL DEFAULT '',   -- machines: their site
    product_id      TEXT    NOT NULL,
    sku             TEXT,
    type            TEXT    NOT NULL CHECK (type IN ('sale', 'restock', 'transfer_out', 'transfer_in', 'receipt',
                        'count_adjustment', 'spoilage', 'expired', 'damaged', 'return', 'reservation', 'release')),
    quantity        INTEGER NOT NULL,
    unit_cost_cents INTEGER,
    lot_id          TEXT,
    ref             TEXT    NOT NULL DEFAULT '',   -- transfer id, site:seq of an event, channel:id, request key
    reason          TEXT    NOT NULL DEFAULT '',
    performed_by    TEXT    NOT NULL,
    performed_at    INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL
);
CREATE INDEX inventory_movements_location ON inventory_movements (location_kind, location_id, performed_at);
CREATE INDEX inventory_movements_product ON inventory_movements (product_id, performed_at);
CREATE INDEX inventory_movements_time ON inventory_movements (performed_at);

CREATE TABLE inventory_stock (
    location_kind TEXT    NOT NULL,
    location_id   TEXT    NOT NULL,
    product_id    TEXT    NOT NULL,
    quantity      INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (location_kind, location_id, product_id)
) WITHOUT ROWID;

-- Transfers between central locations (depot -> van load, van -> depot
-- return). Each line keeps what was planned (the pick list) and picked.
CREATE TABLE transfers (
    transfer_id  TEXT    PRIMARY KEY,
    from_kind    TEXT    NOT NULL,
    from_id      TEXT    NOT NULL,
    to_kind      TEXT    NOT NULL,
    to_id        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,   -- load | return | move
    body_hash    BLOB    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE transfer_lines (
    transfer_id TEXT    NOT NULL REFERENCES transfers (transfer_id),
    line        INTEGER NOT NULL,
    product_id  TEXT    NOT NULL,
    planned     INTEGER NOT NULL,
    picked      INTEGER NOT NULL,
    PRIMARY KEY (transfer_id, line)
) WITHOUT ROWID;

-- Idempotent requests (bulk updates, channel syncs): the first answer is
-- kept and replayed for the same key and body.
CREATE TABLE inventory_requests (
    request_key TEXT    PRIMARY KEY,
    body_hash   BLOB    NOT NULL,
    result      TEXT    NOT NULL,   -- JSON
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- What an external sales channel last reported as its stock of a product at
-- a location, for reconciliation.
CREATE TABLE channel_stock (
    channel       TEXT    NOT NULL,
    location_kind TEXT    NOT NULL,
    location_id   TEXT    NOT NULL,
    product_id    TEXT    NOT NULL,
    quantity      INTEGER NOT NULL,
    reported_at   INTEGER NOT NULL,
    PRIMARY KEY (channel, location_kind, location_id, product_id)
) WITHOUT ROWID;
