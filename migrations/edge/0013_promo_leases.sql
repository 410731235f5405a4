-- The site's leases of quota-limited promotions (edge/lease): its share of a
-- fleet-wide quota, granted by central through the downlink. All figures are
-- cumulative; available = granted - used - returned. A sale redeems within
-- the lease in its own transaction, so the site never redeems more than it
-- was granted, with or without a link.
CREATE TABLE promo_leases (
    promo_id    TEXT    PRIMARY KEY,
    lease_id    TEXT    NOT NULL DEFAULT '',
    granted     INTEGER NOT NULL DEFAULT 0,
    used        INTEGER NOT NULL DEFAULT 0,
    returned    INTEGER NOT NULL DEFAULT 0,
    epoch       INTEGER NOT NULL DEFAULT 0,
    recall_seen INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    CHECK (used + returned <= granted)
) WITHOUT ROWID;
