-- Promotions evaluated at the site (internal/promo, edge/promotion): the
-- rules in force, what each sale's promotions gave, customers' purchase
-- counts for nth-purchase rules, and discount aggregates beside sales_agg.
-- Money in cents, times in unix milliseconds (UTC).

-- A promotion in force at this site: authored at central (the downlink) or
-- by the site's operator. body is the promotion as JSON (promo.Promotion).
CREATE TABLE promotions (
    promotion_id TEXT    PRIMARY KEY,
    origin       TEXT    NOT NULL CHECK (origin IN ('CENTRAL', 'SITE')),
    body         TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT    NOT NULL
) WITHOUT ROWID;

-- A sale's list amount and discount (amount_cents stays what was charged).
-- NULL list_cents: recorded without a promotion (list = amount). A basket
-- sale is one sales_events row per line, transaction ids "<basket>#<n>".
ALTER TABLE sales_events ADD COLUMN list_cents INTEGER;
ALTER TABLE sales_events ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sales_events ADD COLUMN basket_id TEXT;

-- What each promotion took off each sale (line).
CREATE TABLE sale_promotions (
    machine_id     TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    promotion_id   TEXT    NOT NULL,
    product_id     TEXT    NOT NULL,
    discount_cents INTEGER NOT NULL CHECK (discount_cents > 0),
    basket_id      TEXT    NOT NULL,   -- the sale's transaction id as posted
    event_time     INTEGER NOT NULL,
    local_hour     INTEGER NOT NULL,   -- the sale's hour bucket (naive local, as sales_agg)
    PRIMARY KEY (machine_id, transaction_id, promotion_id)
) WITHOUT ROWID;
CREATE INDEX sale_promotions_hour ON sale_promotions (local_hour);

-- Purchases per customer (an opaque loyalty token, never personal data).
CREATE TABLE customer_purchases (
    customer_id TEXT    PRIMARY KEY,
    purchases   INTEGER NOT NULL,
    last_at     INTEGER NOT NULL
) WITHOUT ROWID;

-- Discounts in the buckets of sales_agg (gross = revenue + discount).
CREATE TABLE sales_discount_agg (
    dim            TEXT    NOT NULL,
    win            TEXT    NOT NULL,
    bucket         INTEGER NOT NULL,
    key            TEXT    NOT NULL,
    discounted_tx  INTEGER NOT NULL,
    discount_cents INTEGER NOT NULL,
    PRIMARY KEY (dim, win, bucket, key)
) WITHOUT ROWID;
