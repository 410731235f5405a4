-- A sale's idempotency key is (machine_id, transaction_id): a transaction id
-- is its machine's own, so another machine's sale under the same id is
-- another sale, never a replay or a conflict (0001 keyed sales_events by
-- transaction_id alone, which let one machine shadow another's sale).
CREATE TABLE sales_events_v4 (
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
    PRIMARY KEY (machine_id, transaction_id)
) WITHOUT ROWID;

INSERT INTO sales_events_v4 (machine_id, transaction_id, product_id, quantity, amount_cents, payment_method,
    event_time, received_at, body_hash, seq)
SELECT machine_id, transaction_id, product_id, quantity, amount_cents, payment_method,
    event_time, received_at, body_hash, seq
FROM sales_events;

DROP TABLE sales_events;
ALTER TABLE sales_events_v4 RENAME TO sales_events;
