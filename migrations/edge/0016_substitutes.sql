-- Substitutes for pre-orders (edge/order substitute.go).

-- A product's substitutes at this site, in the order they are offered:
-- when an order's line of product_id can't be reserved, the first
-- substitute with enough free units in the order's machine is offered.
CREATE TABLE product_substitutes (
    product_id    TEXT    NOT NULL,
    position      INTEGER NOT NULL CHECK (position >= 0),
    substitute_id TEXT    NOT NULL CHECK (substitute_id <> product_id),
    updated_at    INTEGER NOT NULL,
    updated_by    TEXT    NOT NULL,
    PRIMARY KEY (product_id, position),
    UNIQUE (product_id, substitute_id)
) WITHOUT ROWID;

-- orders gains the status SUBSTITUTION_OFFERED and the offer (JSON, an
-- envelope.Substitution; '' for none). SQLite can't change a CHECK, so the
-- table is rebuilt; reservations refers to it and is rebuilt around it
-- (dropped first, so no foreign key is broken inside this transaction).
CREATE TABLE reservations_0016 AS SELECT order_id, machine_id, product_id, quantity FROM reservations;
DROP TABLE reservations;

CREATE TABLE orders_0016 (
    order_id     TEXT    PRIMARY KEY,
    machine_id   TEXT    NOT NULL,
    customer     TEXT    NOT NULL,
    code         TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'REJECTED', 'PICKED_UP', 'EXPIRED', 'CANCELLED', 'SUBSTITUTION_OFFERED')),
    reason       TEXT    NOT NULL DEFAULT '',
    lines        TEXT    NOT NULL,
    placed_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    picked_up_by TEXT,
    substitution TEXT    NOT NULL DEFAULT ''
);
INSERT INTO orders_0016 (order_id, machine_id, customer, code, status, reason, lines, placed_at, expires_at, received_at, updated_at, picked_up_by)
    SELECT order_id, machine_id, customer, code, status, reason, lines, placed_at, expires_at, received_at, updated_at, picked_up_by FROM orders;
DROP TABLE orders;
ALTER TABLE orders_0016 RENAME TO orders;
CREATE INDEX orders_status ON orders (status, expires_at);

CREATE TABLE reservations (
    order_id   TEXT    NOT NULL REFERENCES orders(order_id),
    machine_id TEXT    NOT NULL,
    product_id TEXT    NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, machine_id, product_id)
) WITHOUT ROWID;
INSERT INTO reservations SELECT order_id, machine_id, product_id, quantity FROM reservations_0016;
DROP TABLE reservations_0016;
