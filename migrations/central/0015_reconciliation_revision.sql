-- Reconciliations revised at the site after late sales: the highest
-- revision of a (site, reconciliation_id) replaces a lower one.
ALTER TABLE dex_reconciliations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
