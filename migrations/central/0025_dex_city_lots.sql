-- Issue 14, wave 7: the fleet's DEX and cash reports by city (each
-- machine's *current* city) read the per-site day rollups of 0022 and join
-- each site's city at read time, so a machine changing city moves no sums.
-- That is exact for a site whose machines all stand in one city and are all
-- known: a reconciliation or collection of a machine central has no row
-- for counts in city '' (the reports' LEFT JOIN). This table names those
-- machines (kept on apply; a machine learned later is filtered out at read
-- time), so the reports read such a site's raw rows instead.
CREATE TABLE dex_unknown_machines (
    site       TEXT NOT NULL,
    machine_id TEXT NOT NULL,
    PRIMARY KEY (site, machine_id)
) WITHOUT ROWID;
INSERT INTO dex_unknown_machines (site, machine_id)
    SELECT site, machine_id FROM dex_reconciliations r
    WHERE NOT EXISTS (SELECT 1 FROM machines m WHERE m.site = r.site AND m.machine_id = r.machine_id)
    UNION
    SELECT site, machine_id FROM cash_collections c
    WHERE NOT EXISTS (SELECT 1 FROM machines m WHERE m.site = c.site AND m.machine_id = c.machine_id);

-- The lot list (Lots) and the valuation read machine_lots in the order
-- a machine sells them: site, machine, product, first expiry first
-- (undated last), then lot. This index holds that whole order, so a list
-- of the fleet's lots expiring before a date reads the index in order and
-- stops at its limit, with no sort of every lot per product and no seek
-- into the table for a lot that does not expire in time. It replaces
-- machine_lots_machine, its prefix. Quantity stays out of it: a sale's lot
-- use changes only the table row.
CREATE INDEX machine_lots_order ON machine_lots (site, machine_id, product_id, expiry_date = '', expiry_date);
DROP INDEX machine_lots_machine;
