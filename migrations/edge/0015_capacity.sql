-- A slot's capacity: the most units its coil holds (issue 13). NULL when
-- not known; a restock beyond it is still a fact, the driver app warns.
ALTER TABLE machine_inventory ADD COLUMN capacity INTEGER NULL CHECK (capacity IS NULL OR capacity > 0);
