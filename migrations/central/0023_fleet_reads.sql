-- Issue 14, wave 6: fleet-wide reads at 10,000 machines × 1 year.
-- Each aggregate row carries the discount of the sales it counts (gross =
-- revenue + discount), written by apply in the same upsert as its totals,
-- so the sales query reads one stream instead of two. sales_discount_agg
-- stays (the promotions report reads it) and fills the column for the
-- rows written before this migration.
ALTER TABLE sales_agg ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0;
UPDATE sales_agg SET discount_cents = d.discount_cents
    FROM sales_discount_agg d
    WHERE sales_agg.dim = d.dim AND sales_agg.win = d.win AND sales_agg.site = d.site
        AND sales_agg.city = d.city AND sales_agg.bucket = d.bucket AND sales_agg.key = d.key;
