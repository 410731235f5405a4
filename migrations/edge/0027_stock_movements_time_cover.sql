-- Issue 14, wave 16: the stock ledger's visits read from the index alone.
-- stock_movements is WITHOUT ROWID, so each entry of stock_movements_time
-- (0026) led to a search of the table's key (movement_id, line): a text
-- comparison down the B-tree for every line of a page, a fifth of a
-- 500-line GET /stock-movements?type=restock. This index holds every
-- column that read takes (the key's two columns come with any index of a
-- WITHOUT ROWID table), in time order, so the read never visits the table.
-- Its entries are larger, and only visits write them (a few a day); a sale
-- writes none.
DROP INDEX stock_movements_time;
CREATE INDEX stock_movements_time ON stock_movements
    (performed_at, reason, delta, machine_id, product_id, after, performed_by, van_id, seq);
