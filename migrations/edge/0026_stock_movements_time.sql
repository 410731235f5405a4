-- Issue 14, wave 14: the stock ledger (GET /stock-movements) reads the
-- restock visits' lines in time order, and no index gave that order: each
-- page read every line of every visit the site ever had and sorted them
-- (a temp B-tree), and a site's visits only grow. One index entry per
-- visit line (a few visits a day); a sale writes none.
CREATE INDEX stock_movements_time ON stock_movements (performed_at);
