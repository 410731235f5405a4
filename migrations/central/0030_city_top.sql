-- Issue 14, wave 10: every city's best-selling products per naive-local
-- day and month, the first 10 ranked as the reports rank them (revenue,
-- then quantity descending, then product id), kept on apply as site_top
-- (0022) is: after a batch's totals are added, each day and month of a
-- city the batch touched is ranked again from the city's product rows
-- (scope '*', about 30 rows). The daily and monthly reports read the first
-- 3 of every city (150 rows for 50 cities) instead of every city's
-- products (1,500).
CREATE TABLE city_top (
    win           TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    rank          INTEGER NOT NULL,   -- 0 is the best
    city          TEXT    NOT NULL,
    product_id    TEXT    NOT NULL,
    tx_count      INTEGER NOT NULL,
    quantity      INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL,
    PRIMARY KEY (win, bucket, rank, city)
) WITHOUT ROWID;
INSERT INTO city_top (win, bucket, rank, city, product_id, tx_count, quantity, revenue_cents)
    SELECT win, bucket, rn - 1, city, key, tx_count, quantity, revenue_cents FROM (
        SELECT win, bucket, city, key, tx_count, quantity, revenue_cents,
            ROW_NUMBER() OVER (PARTITION BY win, bucket, city ORDER BY revenue_cents DESC, quantity DESC, key) AS rn
        FROM sales_agg
        WHERE dim = 'product' AND win IN ('day', 'month') AND site = '*')
    WHERE rn <= 10;
