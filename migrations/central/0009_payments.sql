-- Payments per site (edge/payment sends them up). payment_days holds the
-- totals finance closes a day with: per site, site-local day and method,
-- the payments taken (every sale counts once, from its own event, under the
-- method its paymentMethod belongs to), and the refunds and failures that
-- KindPayment events report. payments keeps each payment's latest state
-- (the event of the highest sequence), for the payments that changed after
-- their sale or were taken through the gateway. Money in cents.
CREATE TABLE payment_days (
    site           TEXT    NOT NULL,
    day            TEXT    NOT NULL,   -- YYYY-MM-DD in the site's timezone
    method         TEXT    NOT NULL,   -- CASH | CARD | MOBILE | GATEWAY (older sales: the name they gave)
    payments       INTEGER NOT NULL DEFAULT 0,
    gross_cents    INTEGER NOT NULL DEFAULT 0,
    refunds        INTEGER NOT NULL DEFAULT 0,
    refunded_cents INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, day, method)
) WITHOUT ROWID;
CREATE INDEX payment_days_day ON payment_days (day, method);

CREATE TABLE payments (
    site           TEXT    NOT NULL,
    payment_id     INTEGER NOT NULL,
    machine_id     TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    method         TEXT    NOT NULL,
    method_name    TEXT    NOT NULL,
    amount_cents   INTEGER NOT NULL,
    refunded_cents INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    day            TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (site, payment_id)
) WITHOUT ROWID;
