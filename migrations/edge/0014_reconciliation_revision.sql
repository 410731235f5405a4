-- A reconciliation is revised when sales reach the edge late, inside a
-- period already reconciled (a machine that was cut off from the site
-- sends its backlog): the edge reconciles the period again and bumps the
-- revision; central keeps the highest revision.
ALTER TABLE reconciliations ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
