-- Issue 14: the promotions report of a month reads per-day rollups kept on
-- apply instead of every promoted sale line.

-- A basket's earlier lines of a promotion, so apply counts each basket
-- once per promotion and day however its lines arrive.
CREATE INDEX sale_promotions_basket ON sale_promotions (site, machine_id, basket_id, promotion_id, local_hour);

-- A small number for every site that redeemed a promotion: its bit in the
-- site sets of promo_days.
CREATE TABLE promo_site_ords (
    site TEXT    NOT NULL PRIMARY KEY,
    ord  INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;

-- Each promotion's sale lines per naive-local day, at three levels:
-- lvl 2 one site in one city, lvl 1 one city (site ''), lvl 0 the fleet
-- (site and city ''). baskets counts the distinct baskets (a basket's lines
-- share one time, so one day); sites is a bitmap of promo_site_ords.ord
-- (bit ord % 8 of byte ord / 8), NULL on site rows.
CREATE TABLE promo_days (
    lvl            INTEGER NOT NULL,
    site           TEXT    NOT NULL,
    city           TEXT    NOT NULL,
    day            INTEGER NOT NULL,
    promotion_id   TEXT    NOT NULL,
    baskets        INTEGER NOT NULL,
    lines          INTEGER NOT NULL,
    discount_cents INTEGER NOT NULL,
    sites          BLOB,
    PRIMARY KEY (lvl, site, city, day, promotion_id)
) WITHOUT ROWID;

-- Asks the store to fill promo_days from sale_promotions once on open (the
-- site bitmaps are built in Go); the fill deletes the row.
CREATE TABLE promo_days_pending (reason TEXT NOT NULL);
INSERT INTO promo_days_pending (reason) VALUES ('0022: promotion rollups for existing sale lines');

-- DEX reconciliations and cash collections summed per UTC day of their
-- time (to_at, collected_at) and per site or driver (grp 'site' or
-- 'driver', key the site or the uploader/driver), kept on apply: the
-- fleet's DEX and cash reports by site or driver read these for the whole
-- days of a range and the raw rows only at its edges. A revised
-- reconciliation moves its sums by the difference. last_at is the latest
-- time of the day's rows.
CREATE TABLE dex_days (
    grp              TEXT    NOT NULL,
    day              INTEGER NOT NULL,   -- unix ms of the UTC day's start
    key              TEXT    NOT NULL,
    n                INTEGER NOT NULL,
    machine_count    INTEGER NOT NULL,
    machine_cents    INTEGER NOT NULL,
    ledger_count     INTEGER NOT NULL,
    ledger_cents     INTEGER NOT NULL,
    unreported_count INTEGER NOT NULL,
    unreported_cents INTEGER NOT NULL,
    missing_count    INTEGER NOT NULL,
    missing_cents    INTEGER NOT NULL,
    price_mismatches INTEGER NOT NULL,
    test_vends       INTEGER NOT NULL,
    free_vends       INTEGER NOT NULL,
    alerted          INTEGER NOT NULL,
    last_at          INTEGER NOT NULL,
    PRIMARY KEY (grp, day, key)
) WITHOUT ROWID;
INSERT INTO dex_days
    SELECT g.grp, r.to_at - r.to_at % 86400000, CASE g.grp WHEN 'site' THEN r.site ELSE r.uploaded_by END, COUNT(*),
        SUM(r.machine_count), SUM(r.machine_cents), SUM(r.ledger_count), SUM(r.ledger_cents),
        SUM(r.unreported_count), SUM(r.unreported_cents), SUM(r.missing_count), SUM(r.missing_cents),
        SUM(r.price_mismatches), SUM(r.test_vends), SUM(r.free_vends), SUM(r.alerted), MAX(r.to_at)
    FROM dex_reconciliations r CROSS JOIN (SELECT 'site' AS grp UNION ALL SELECT 'driver') g
    GROUP BY 1, 2, 3;

CREATE TABLE cash_days (
    grp              TEXT    NOT NULL,
    day              INTEGER NOT NULL,
    key              TEXT    NOT NULL,
    n                INTEGER NOT NULL,
    amount_cents     INTEGER NOT NULL,
    expected_ledger  INTEGER NOT NULL,
    expected_dex     INTEGER NOT NULL,   -- sum of the non-NULL ones
    counted_with_dex INTEGER NOT NULL,   -- amount of the rows with expected_dex
    dex_n            INTEGER NOT NULL,   -- rows with expected_dex
    last_at          INTEGER NOT NULL,
    PRIMARY KEY (grp, day, key)
) WITHOUT ROWID;
INSERT INTO cash_days
    SELECT g.grp, c.collected_at - c.collected_at % 86400000, CASE g.grp WHEN 'site' THEN c.site ELSE c.driver END, COUNT(*),
        SUM(c.amount_cents), SUM(c.expected_ledger), COALESCE(SUM(c.expected_dex), 0),
        COALESCE(SUM(CASE WHEN c.expected_dex IS NOT NULL THEN c.amount_cents END), 0), COUNT(c.expected_dex), MAX(c.collected_at)
    FROM cash_collections c CROSS JOIN (SELECT 'site' AS grp UNION ALL SELECT 'driver') g
    GROUP BY 1, 2, 3;

-- Every site's best-selling products per naive-local day and month (win
-- 'day' or 'month', bucket its key), the first 10 ranked as the reports
-- rank them (revenue, then quantity descending, then product id), kept on
-- apply from the site's product rows of sales_agg: the daily and monthly
-- reports read the first 3 of every site instead of all its products.
CREATE TABLE site_top (
    win           TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    rank          INTEGER NOT NULL,   -- 0 is the best
    site          TEXT    NOT NULL,
    product_id    TEXT    NOT NULL,
    tx_count      INTEGER NOT NULL,
    quantity      INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL,
    PRIMARY KEY (win, bucket, rank, site)
) WITHOUT ROWID;
INSERT INTO site_top (win, bucket, rank, site, product_id, tx_count, quantity, revenue_cents)
    SELECT win, bucket, rn - 1, site, key, tx, qty, rev FROM (
        SELECT win, bucket, site, key, tx, qty, rev,
            ROW_NUMBER() OVER (PARTITION BY win, bucket, site ORDER BY rev DESC, qty DESC, key) AS rn
        FROM (SELECT a.win, a.bucket, a.site, a.key, SUM(a.tx_count) AS tx, SUM(a.quantity) AS qty, SUM(a.revenue_cents) AS rev
            FROM sales_scopes sc CROSS JOIN sales_agg a
            WHERE a.dim = 'product' AND a.win IN ('day', 'month') AND a.site = sc.site AND a.city = sc.city
                AND sc.site NOT IN ('*', '**')
            GROUP BY a.win, a.bucket, a.site, a.key))
    WHERE rn <= 10;
