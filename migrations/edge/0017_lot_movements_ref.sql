-- Every sale writes a lot_movements row, and every index on the table is one
-- more B-tree insert inside the sale's transaction. lot_movements_ref (0011)
-- served no query: nothing looks movements up by their reference (a sale's
-- lots travel on its own event; the lot history is read by lot_id).
DROP INDEX IF EXISTS lot_movements_ref;
