-- Nearest site, menus and promotion quotas (issue 10).

-- The nearest-site query prefilters machines on a bounding box of their
-- coordinates before computing great-circle distances.
CREATE INDEX machines_latlng ON machines(latitude, longitude);

-- Units of a product held for pre-orders at a site, not sellable to
-- walk-up customers. The nearest-site query and the menus subtract it from
-- the machines' stock. Pre-orders (the orders feature) fill it: one row per
-- site x product, reserved >= 0; no row means 0.
CREATE TABLE site_reservations (
    site       TEXT    NOT NULL,
    product_id TEXT    NOT NULL,
    reserved   INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site, product_id)
) WITHOUT ROWID;

-- What each site reports of its lease of a quota-limited promotion:
-- cumulative units redeemed (used) and given back (returned), so a
-- redelivered or reordered report never counts twice (the larger wins).
CREATE TABLE promo_lease_usage (
    promo_id   TEXT    NOT NULL,
    site       TEXT    NOT NULL,
    granted    INTEGER NOT NULL DEFAULT 0,
    used       INTEGER NOT NULL DEFAULT 0,
    returned   INTEGER NOT NULL DEFAULT 0,
    epoch      INTEGER NOT NULL DEFAULT 0,
    recall_seen INTEGER NOT NULL DEFAULT 0,
    seq        INTEGER NOT NULL,
    event_time INTEGER NOT NULL,
    PRIMARY KEY (promo_id, site)
) WITHOUT ROWID;
