-- Issue 14, wave 6: fleet-wide reads at 10,000 machines × 1 year.
-- Each aggregate row carries the discount of the sales it counts (gross =
-- revenue + discount), written by apply in the same upsert as its totals,
-- so the sales query reads one stream instead of two. sales_discount_agg
-- stays (the promotions report reads it) and fills the column for the
-- rows written before this migration.
ALTER TABLE sales_agg ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0;
-- Driven by the discount rows (a seek each), not by every aggregate row.
UPDATE sales_agg SET discount_cents = (SELECT d.discount_cents FROM sales_discount_agg d
        WHERE d.dim = sales_agg.dim AND d.win = sales_agg.win AND d.site = sales_agg.site
            AND d.city = sales_agg.city AND d.bucket = sales_agg.bucket AND d.key = sales_agg.key)
    WHERE (dim, win, site, city, bucket, key) IN (SELECT dim, win, site, city, bucket, key FROM sales_discount_agg);

-- The alert and fault lists (1,000 rows) read newest first from these
-- indexes; holding every column the lists return, they answer without a
-- seek into the table per row (alerts and faults are few beside sales:
-- ~200,000 and ~50,000 a year at 10,000 machines). Same names, same
-- order as the indexes of 0021 they replace.
DROP INDEX alerts_time;
CREATE INDEX alerts_time ON alerts (event_time DESC, site, alert_id,
    machine_id, product_id, alert_type, status, detail, opened_at, closed_at, seq);
DROP INDEX faults_time;
CREATE INDEX faults_time ON faults (event_time DESC, site, fault_id,
    machine_id, fault_type, description, status, reported_at, resolved_at, updated_by, seq);
DROP INDEX alerts_open_time;
CREATE INDEX alerts_open_time ON alerts (event_time DESC, site, alert_id,
    machine_id, product_id, alert_type, status, detail, opened_at, closed_at, seq) WHERE status = 'OPEN';
DROP INDEX faults_open_time;
CREATE INDEX faults_open_time ON faults (event_time DESC, site, fault_id,
    machine_id, fault_type, description, status, reported_at, resolved_at, updated_by, seq) WHERE status = 'OPEN';
