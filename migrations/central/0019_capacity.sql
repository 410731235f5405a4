-- A slot's capacity (the most units its coil holds), carried up in the
-- inventory event; NULL when the site has not set one (issue 13).
ALTER TABLE machine_products ADD COLUMN capacity INTEGER;
