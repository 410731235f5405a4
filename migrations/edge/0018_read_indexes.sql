-- Issue 14: every query at the edge answers within 1 ms at 1,000,000 sales.
--
-- GET /payments lists newest first (ORDER BY sold_at DESC), all payments or
-- one machine's; rarer statuses (REFUNDED, FAILED, …) have their own small
-- index, since CAPTURED is what nearly every payment ends as.
CREATE INDEX payments_sold ON payments (sold_at);
CREATE INDEX payments_machine_sold ON payments (machine_id, sold_at);
CREATE INDEX payments_status_sold ON payments (status, sold_at) WHERE status <> 'CAPTURED';

-- GET /stock-movements reads the sales in time order (the primary key is
-- (machine_id, transaction_id), so this index carries machine_id too).
CREATE INDEX sales_events_time ON sales_events (event_time, transaction_id);

-- GET /reports/payments: the sums of payments per site-local day and
-- method, kept by triggers in the transaction of every payment change
-- (payments are never deleted). n counts every payment of the group, so a
-- group of only pending payments is still reported; taken counts the
-- captured ones (refunded ones were captured first), gross their amounts,
-- refunds and refunded the refunded ones and what was given back.
CREATE TABLE payment_totals (
    day      TEXT    NOT NULL,
    method   TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    taken    INTEGER NOT NULL,
    gross    INTEGER NOT NULL,
    refunds  INTEGER NOT NULL,
    refunded INTEGER NOT NULL,
    failed   INTEGER NOT NULL,
    PRIMARY KEY (day, method)
) WITHOUT ROWID;

INSERT INTO payment_totals (day, method, n, taken, gross, refunds, refunded, failed)
SELECT day, method, COUNT(*),
    SUM(status IN ('CAPTURED', 'REFUNDED')),
    COALESCE(SUM(CASE WHEN status IN ('CAPTURED', 'REFUNDED') THEN amount_cents END), 0),
    SUM(status = 'REFUNDED'),
    COALESCE(SUM(CASE WHEN status IN ('CAPTURED', 'REFUNDED') THEN refunded_cents END), 0),
    SUM(status = 'FAILED')
FROM payments GROUP BY day, method;

CREATE TRIGGER payment_totals_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payment_totals (day, method, n, taken, gross, refunds, refunded, failed)
    VALUES (NEW.day, NEW.method, 1,
        NEW.status IN ('CAPTURED', 'REFUNDED'),
        CASE WHEN NEW.status IN ('CAPTURED', 'REFUNDED') THEN NEW.amount_cents ELSE 0 END,
        NEW.status = 'REFUNDED',
        CASE WHEN NEW.status IN ('CAPTURED', 'REFUNDED') THEN NEW.refunded_cents ELSE 0 END,
        NEW.status = 'FAILED')
    ON CONFLICT (day, method) DO UPDATE SET n = n + 1, taken = taken + excluded.taken, gross = gross + excluded.gross,
        refunds = refunds + excluded.refunds, refunded = refunded + excluded.refunded, failed = failed + excluded.failed;
END;

CREATE TRIGGER payment_totals_update AFTER UPDATE OF day, method, status, amount_cents, refunded_cents ON payments BEGIN
    UPDATE payment_totals SET n = n - 1,
        taken = taken - (OLD.status IN ('CAPTURED', 'REFUNDED')),
        gross = gross - CASE WHEN OLD.status IN ('CAPTURED', 'REFUNDED') THEN OLD.amount_cents ELSE 0 END,
        refunds = refunds - (OLD.status = 'REFUNDED'),
        refunded = refunded - CASE WHEN OLD.status IN ('CAPTURED', 'REFUNDED') THEN OLD.refunded_cents ELSE 0 END,
        failed = failed - (OLD.status = 'FAILED')
    WHERE day = OLD.day AND method = OLD.method;
    INSERT INTO payment_totals (day, method, n, taken, gross, refunds, refunded, failed)
    VALUES (NEW.day, NEW.method, 1,
        NEW.status IN ('CAPTURED', 'REFUNDED'),
        CASE WHEN NEW.status IN ('CAPTURED', 'REFUNDED') THEN NEW.amount_cents ELSE 0 END,
        NEW.status = 'REFUNDED',
        CASE WHEN NEW.status IN ('CAPTURED', 'REFUNDED') THEN NEW.refunded_cents ELSE 0 END,
        NEW.status = 'FAILED')
    ON CONFLICT (day, method) DO UPDATE SET n = n + 1, taken = taken + excluded.taken, gross = gross + excluded.gross,
        refunds = refunds + excluded.refunds, refunded = refunded + excluded.refunded, failed = failed + excluded.failed;
END;
