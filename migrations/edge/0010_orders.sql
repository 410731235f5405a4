-- Pre-orders placed at central and picked up at this site (edge/order).
-- Times in unix milliseconds (UTC), money in cents.

-- One order as central sent it, and its state here. The site is the only
-- place an order is redeemed: status moves to PICKED_UP once, in the
-- writer's transaction.
CREATE TABLE orders (
    order_id     TEXT    PRIMARY KEY,
    machine_id   TEXT    NOT NULL,
    customer     TEXT    NOT NULL,
    code         TEXT    NOT NULL,          -- the short pickup code
    status       TEXT    NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'PICKED_UP', 'EXPIRED', 'CANCELLED')),
    reason       TEXT    NOT NULL DEFAULT '',
    lines        TEXT    NOT NULL,          -- JSON [{productId, quantity, amountCents}]
    placed_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    picked_up_by TEXT
);
CREATE INDEX orders_status ON orders (status, expires_at);

-- Units held for an order: not sellable to walk-up buyers. Released (the
-- rows deleted) on pickup, reject, cancel or expiry.
CREATE TABLE reservations (
    order_id   TEXT    NOT NULL REFERENCES orders(order_id),
    machine_id TEXT    NOT NULL,
    product_id TEXT    NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, machine_id, product_id)
) WITHOUT ROWID;

-- Central's public key for pickup tokens, from the downlink.
CREATE TABLE order_keys (
    name       TEXT PRIMARY KEY,
    public_key BLOB NOT NULL
) WITHOUT ROWID;
