-- Purchasing, alert webhooks and the cost layers the valuation reads
-- (issue 11). Authored at central on the node that takes the request, like
-- depots and vans. Money in cents, times unix milliseconds (UTC).

-- Alert subscriptions: who wants which alerts (types, locations, products)
-- delivered to which webhook. Empty filter arrays match everything. secret
-- signs each delivery (HMAC-SHA256); it is shown once, when created.
CREATE TABLE alert_subscriptions (
    subscription_id TEXT    PRIMARY KEY,
    owner           TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    alert_types     TEXT    NOT NULL DEFAULT '[]',   -- JSON arrays
    sites           TEXT    NOT NULL DEFAULT '[]',
    cities          TEXT    NOT NULL DEFAULT '[]',
    machines        TEXT    NOT NULL DEFAULT '[]',
    products        TEXT    NOT NULL DEFAULT '[]',
    include_closed  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
) WITHOUT ROWID;

-- One notification of one alert change to one subscription, written in the
-- transaction that applies the alert. delivery_id
-- (subscription:site:alert:status) is its idempotency key: a redelivered or
-- rebuilt alert makes no second notification, and receivers dedupe by it.
CREATE TABLE webhook_deliveries (
    delivery_id     TEXT    PRIMARY KEY,
    subscription_id TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, created_at);

-- Every attempt of a delivery: the delivery log.
CREATE TABLE webhook_attempts (
    delivery_id TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

CREATE TABLE suppliers (
    supplier_id     TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    lead_time_days  INTEGER NOT NULL,
    min_order_cents INTEGER NOT NULL DEFAULT 0,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;

-- What a supplier sells: case pack and unit cost per product. The lowest
-- unit cost of a product is its standard cost where no lot cost is known.
CREATE TABLE supplier_products (
    supplier_id     TEXT    NOT NULL REFERENCES suppliers (supplier_id),
    product_id      TEXT    NOT NULL,
    case_pack       INTEGER NOT NULL,
    unit_cost_cents INTEGER NOT NULL,
    PRIMARY KEY (supplier_id, product_id)
) WITHOUT ROWID;
CREATE INDEX supplier_products_product ON supplier_products (product_id);

CREATE TABLE purchase_orders (
    po_id       TEXT    PRIMARY KEY,
    supplier_id TEXT    NOT NULL REFERENCES suppliers (supplier_id),
    depot_id    TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('DRAFT', 'SENT', 'PARTIALLY_RECEIVED', 'RECEIVED', 'CANCELLED')),
    note        TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX purchase_orders_depot ON purchase_orders (depot_id, status);

CREATE TABLE po_lines (
    po_id           TEXT    NOT NULL REFERENCES purchase_orders (po_id),
    line            INTEGER NOT NULL,
    product_id      TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    unit_cost_cents INTEGER NOT NULL,
    received        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (po_id, line)
) WITHOUT ROWID;

-- A receipt against a purchase order; receipt_key makes a retried receipt
-- change nothing.
CREATE TABLE po_receipts (
    receipt_key TEXT    PRIMARY KEY,
    po_id       TEXT    NOT NULL REFERENCES purchase_orders (po_id),
    received_by TEXT    NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Lots received at a depot, at cost: the cost layers of FIFO valuation.
CREATE TABLE depot_lots (
    lot_id          TEXT    PRIMARY KEY,
    depot_id        TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    unit_cost_cents INTEGER NOT NULL,
    expiry_date     TEXT    NOT NULL DEFAULT '',
    po_id           TEXT    NOT NULL DEFAULT '',
    receipt_key     TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX depot_lots_loc ON depot_lots (depot_id, product_id, received_at);
