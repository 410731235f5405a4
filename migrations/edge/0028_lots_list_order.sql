-- Issue 14, wave 16: GET /lots answers in the index's order. It lists a
-- slot's lots first expiry first, undated last (ORDER BY machine_id,
-- product_id, expiry_date = '', expiry_date, lot_id); lots_slot (0011)
-- had no term for "undated last", so every list sorted each slot's lots
-- in a temporary B-tree (a third of a 700-lot answer). With the term in
-- the index (lot_id, the rowid, ends every entry) the list walks it in
-- order. Nothing else searches lots_slot by a range of expiry dates; the
-- sellable lots a sale draws from are held in memory.
DROP INDEX lots_slot;
CREATE INDEX lots_slot ON lots (machine_id, product_id, expiry_date = '', expiry_date);
