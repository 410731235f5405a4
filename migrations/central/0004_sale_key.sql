-- A sale's key is (site, machine_id, transaction_id): a transaction id is
-- the machine's own, so the same id at another machine (of this site or
-- another) is another sale. 0001 keyed sales by transaction_id alone, which
-- dropped such sales; they are recovered here from the raw events, and
-- rebuild_pending asks the store to recompute the aggregates once on open.
CREATE TABLE sales_v3 (
    site           TEXT    NOT NULL,
    machine_id     TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    product_id     TEXT    NOT NULL,
    city           TEXT    NOT NULL,
    location       TEXT    NOT NULL,
    quantity       INTEGER NOT NULL,
    amount_cents   INTEGER NOT NULL,
    payment_method TEXT    NOT NULL,
    event_time     INTEGER NOT NULL,
    PRIMARY KEY (site, machine_id, transaction_id)
) WITHOUT ROWID;

INSERT INTO sales_v3 (site, machine_id, transaction_id, seq, product_id, city, location, quantity, amount_cents, payment_method, event_time)
SELECT site, machine_id, transaction_id, seq, product_id, city, location, quantity, amount_cents, payment_method, event_time
FROM sales;

-- The first event of each (site, machine, transaction) counts, as Apply
-- does; events without the keys Apply requires have no effect there either.
INSERT INTO sales_v3 (site, machine_id, transaction_id, seq, product_id, city, location, quantity, amount_cents, payment_method, event_time)
SELECT site, json_extract(body, '$.data.machineId'), json_extract(body, '$.data.transactionId'), seq,
       json_extract(body, '$.data.productId'), coalesce(json_extract(body, '$.data.city'), ''),
       coalesce(json_extract(body, '$.data.location'), ''), coalesce(json_extract(body, '$.data.quantity'), 0),
       coalesce(json_extract(body, '$.data.amountCents'), 0), coalesce(json_extract(body, '$.data.paymentMethod'), ''),
       event_time
FROM raw_events
WHERE kind = 'sale' AND json_valid(body)
  AND coalesce(json_extract(body, '$.data.transactionId'), '') <> ''
  AND coalesce(json_extract(body, '$.data.machineId'), '') <> ''
  AND coalesce(json_extract(body, '$.data.productId'), '') <> ''
ORDER BY site, seq
ON CONFLICT DO NOTHING;

DROP TABLE sales;
ALTER TABLE sales_v3 RENAME TO sales;

-- A row here makes the store rebuild its aggregates from the sales table
-- when it opens, then delete the row.
CREATE TABLE rebuild_pending (
    reason TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO rebuild_pending (reason)
SELECT '0003_sale_key' WHERE EXISTS (SELECT 1 FROM raw_events WHERE kind = 'sale');
