-- Issue 14: fleet-wide reads at 10,000 machines × 1 year.
-- The alert, fault and order lists read newest first: an index in the
-- lists' order (newest first, then the key) lets a list without filters
-- stop after its limit instead of sorting the whole table.
CREATE INDEX alerts_time ON alerts (event_time DESC, site, alert_id);
CREATE INDEX faults_time ON faults (event_time DESC, site, fault_id);
CREATE INDEX orders_placed ON orders (placed_at DESC, order_id);

-- payment_days summed over every site, kept beside it on apply: the
-- fleet-wide payments report reads a row per day and method instead of
-- one per site.
CREATE TABLE payment_days_fleet (
    day            TEXT    NOT NULL,
    method         TEXT    NOT NULL,
    payments       INTEGER NOT NULL DEFAULT 0,
    gross_cents    INTEGER NOT NULL DEFAULT 0,
    refunds        INTEGER NOT NULL DEFAULT 0,
    refunded_cents INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, method)
) WITHOUT ROWID;
INSERT INTO payment_days_fleet (day, method, payments, gross_cents, refunds, refunded_cents, failed)
    SELECT day, method, SUM(payments), SUM(gross_cents), SUM(refunds), SUM(refunded_cents), SUM(failed)
    FROM payment_days GROUP BY day, method;

-- The open alerts and faults of each site, which the daily and monthly
-- reports count, without reading the closed ones.
CREATE INDEX alerts_open ON alerts (site, machine_id, status) WHERE status = 'OPEN';
CREATE INDEX faults_open ON faults (site, machine_id, status) WHERE status = 'OPEN';
-- The open ones newest first: the alert and fault lists filtered on OPEN
-- read them in order and stop at their limit.
CREATE INDEX alerts_open_time ON alerts (event_time DESC, site, alert_id) WHERE status = 'OPEN';
CREATE INDEX faults_open_time ON faults (event_time DESC, site, fault_id) WHERE status = 'OPEN';
