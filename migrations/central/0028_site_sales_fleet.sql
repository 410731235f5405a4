-- Issue 14, wave 9: the fleet's sales by site per day, week or month.
-- sales_agg keeps a site's rows in the site's own scopes (site, city), so
-- the fleet's sites for one day were one index seek per scope: 1,000
-- seeks and as many leaf pages at 1,000 sites (9 ms, 20 ms at p99 when
-- those pages are not in the connection's cache). This table holds the
-- same sums once more, keyed by window and bucket first: a day of the
-- fleet's sites is one range of neighbouring rows. Kept on apply in the
-- same transaction as sales_agg (writeTotals), summed over the site's
-- cities. Hours stay in sales_agg only (a site × hour list of the fleet is
-- not an HQ report; 24 times the rows).
CREATE TABLE site_sales_fleet (
    win            TEXT    NOT NULL,
    bucket         INTEGER NOT NULL,
    site           TEXT    NOT NULL,
    tx_count       INTEGER NOT NULL,
    quantity       INTEGER NOT NULL,
    revenue_cents  INTEGER NOT NULL,
    discount_cents INTEGER NOT NULL,
    PRIMARY KEY (win, bucket, site)
) WITHOUT ROWID;
INSERT INTO site_sales_fleet (win, bucket, site, tx_count, quantity, revenue_cents, discount_cents)
    SELECT a.win, a.bucket, a.key, SUM(a.tx_count), SUM(a.quantity), SUM(a.revenue_cents), SUM(a.discount_cents)
    FROM sales_scopes sc CROSS JOIN sales_agg a
    WHERE a.dim = 'site' AND a.win IN ('day', 'week', 'month') AND a.site = sc.site AND a.city = sc.city
    GROUP BY a.win, a.bucket, a.key;
