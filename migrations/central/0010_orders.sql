-- Pre-orders placed by customers at central (central/api orders.go) and
-- their state as their site reports it (KindOrder events). Money in cents,
-- times in unix milliseconds (UTC).

-- One order. The node that took the order writes it whole (PLACED, with its
-- payment); every node learns it from the site's first event otherwise, and
-- then without the payment columns (see README "Pre-orders and pickup").
CREATE TABLE orders (
    order_id       TEXT    PRIMARY KEY,
    site           TEXT    NOT NULL,
    machine_id     TEXT    NOT NULL,
    customer       TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    lines          TEXT    NOT NULL,           -- JSON [{productId, quantity, amountCents}]
    gross_cents    INTEGER NOT NULL DEFAULT 0,
    discount_cents INTEGER NOT NULL DEFAULT 0,
    total_cents    INTEGER NOT NULL DEFAULT 0,
    currency       TEXT    NOT NULL DEFAULT '',
    promo_code     TEXT    NOT NULL DEFAULT '',
    code           TEXT    NOT NULL DEFAULT '', -- short pickup code
    token          TEXT    NOT NULL DEFAULT '', -- signed pickup token (the QR code)
    payment_id     TEXT    NOT NULL DEFAULT '', -- the gateway's payment id
    payment_status TEXT    NOT NULL DEFAULT '',
    refund_id      TEXT    NOT NULL DEFAULT '',
    placed_at      INTEGER NOT NULL,
    ready_at       INTEGER NOT NULL DEFAULT 0,
    expires_at     INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL,
    site_seq       INTEGER NOT NULL DEFAULT 0  -- outbox sequence of the last site event applied
);
CREATE INDEX orders_site_status ON orders (site, status, placed_at);
CREATE INDEX orders_customer ON orders (customer, placed_at);
CREATE INDEX orders_refund ON orders (payment_status, status);

-- Every status change of an order, in the order this node learned them:
-- the server-sent event stream of GET /orders/{id}/events (id = event id).
CREATE TABLE order_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT    NOT NULL,
    status   TEXT    NOT NULL,
    reason   TEXT    NOT NULL DEFAULT '',
    at       INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_id, id);
