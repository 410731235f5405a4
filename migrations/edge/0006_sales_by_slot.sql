-- A count delivered late is applied as of when it was taken: the rule sums
-- the units a machine's product sold after that time.
CREATE INDEX sales_events_slot_time ON sales_events (machine_id, product_id, event_time);
