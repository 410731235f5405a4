-- The van a restock's units came from (issue 11): the driver app sends it
-- when the driver has a van; the stock event carries it up and central
-- deducts the van once per event. NULL for restocks without a van and for
-- removals and counts.
ALTER TABLE stock_movements ADD COLUMN van_id TEXT;
