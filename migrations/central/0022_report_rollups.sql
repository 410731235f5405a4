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
