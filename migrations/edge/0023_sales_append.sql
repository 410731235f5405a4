-- Issue 14: a sale's row is appended, not inserted in its machine's key
-- range. sales_events was WITHOUT ROWID keyed by (machine_id,
-- transaction_id) (0005): each sale's whole row (payment columns of 0022
-- included) went into the middle of the table, so a group commit of sales
-- from n machines dirtied about n leaf pages of full rows and split them.
-- As a rowid table its rows go at the end (the rowid is max + 1, in the
-- order the writer inserts), a few pages per commit, and the key is a
-- slim UNIQUE index on (machine_id, transaction_id): the same idempotency
-- constraint (ON CONFLICT (machine_id, transaction_id) names it), the
-- same lookups, with entries of the two ids instead of the whole row.
-- The columns keep their names and order (SELECT * answers the same), and
-- the indexes their names and order.
DROP VIEW payment_ledger;

CREATE TABLE sales_events_v23 (
    machine_id     TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    product_id     TEXT    NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    amount_cents   INTEGER NOT NULL CHECK (amount_cents >= 0),
    payment_method TEXT    NOT NULL,
    event_time     INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    body_hash      BLOB    NOT NULL,   -- detects a reused key with a different body
    seq            INTEGER NOT NULL,   -- outbox sequence of this sale
    list_cents     INTEGER,
    discount_cents INTEGER NOT NULL DEFAULT 0,
    basket_id      TEXT,
    payment_id     INTEGER,
    pay_method     TEXT,
    pay_day        TEXT,
    card_reference TEXT,
    card_last4     TEXT
);

-- In sequence order: the rows of the sales already stored take the
-- rowids in the order they were recorded, as new ones do.
INSERT INTO sales_events_v23 (machine_id, transaction_id, product_id, quantity, amount_cents, payment_method,
    event_time, received_at, body_hash, seq, list_cents, discount_cents, basket_id,
    payment_id, pay_method, pay_day, card_reference, card_last4)
SELECT machine_id, transaction_id, product_id, quantity, amount_cents, payment_method,
    event_time, received_at, body_hash, seq, list_cents, discount_cents, basket_id,
    payment_id, pay_method, pay_day, card_reference, card_last4
FROM sales_events ORDER BY seq, machine_id, transaction_id;

DROP TABLE sales_events;
ALTER TABLE sales_events_v23 RENAME TO sales_events;

CREATE UNIQUE INDEX sales_events_key ON sales_events (machine_id, transaction_id);
-- machine_id last: ties of (event_time, transaction_id) keep the order
-- they had when the index ended in the table's key (machine_id,
-- transaction_id), not the rowid's.
CREATE INDEX sales_events_time ON sales_events (event_time, transaction_id, machine_id);
CREATE INDEX sales_events_machine_time ON sales_events (machine_id, event_time, transaction_id);
CREATE INDEX sales_events_payment ON sales_events (payment_id) WHERE payment_id IS NOT NULL;

CREATE VIEW payment_ledger AS
SELECT payment_id, machine_id, transaction_id, product_id, quantity, method, method_name, amount_cents, refunded_cents, status,
    card_reference, card_last4, gateway_id, failure, day, sold_at, created_at, updated_at
FROM payments
UNION ALL
SELECT payment_id, machine_id, transaction_id, product_id, quantity, pay_method, payment_method, amount_cents, 0, 'CAPTURED',
    card_reference, card_last4, NULL, NULL, pay_day, event_time, received_at, received_at
FROM sales_events WHERE payment_id IS NOT NULL;
