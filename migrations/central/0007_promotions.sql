-- Promotions at central: what each sale's promotions gave, as the sites
-- report it (envelope.Sale listCents, discountCents, promotions, basketId).
-- Money in cents, times in unix milliseconds.

-- A sale's list amount and discount (amount_cents stays what was charged).
-- NULL list_cents: no promotion discounted it (list = amount).
ALTER TABLE sales ADD COLUMN list_cents INTEGER;
ALTER TABLE sales ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sales ADD COLUMN basket_id TEXT;

-- What each promotion took off each sale (line).
CREATE TABLE sale_promotions (
    site           TEXT    NOT NULL,
    machine_id     TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    promotion_id   TEXT    NOT NULL,
    city           TEXT    NOT NULL,
    basket_id      TEXT    NOT NULL,   -- the sale as posted (a basket's lines share it)
    discount_cents INTEGER NOT NULL,
    event_time     INTEGER NOT NULL,
    local_hour     INTEGER NOT NULL,   -- naive-local hour bucket in the site's timezone
    PRIMARY KEY (site, machine_id, transaction_id, promotion_id)
) WITHOUT ROWID;
CREATE INDEX sale_promotions_hour ON sale_promotions (local_hour);

-- Discounts in the rows of sales_agg (gross = revenue + discount).
CREATE TABLE sales_discount_agg (
    dim            TEXT    NOT NULL,
    win            TEXT    NOT NULL,
    site           TEXT    NOT NULL,
    city           TEXT    NOT NULL,
    bucket         INTEGER NOT NULL,
    key            TEXT    NOT NULL,
    discount_cents INTEGER NOT NULL,
    PRIMARY KEY (dim, win, site, city, bucket, key)
) WITHOUT ROWID;
