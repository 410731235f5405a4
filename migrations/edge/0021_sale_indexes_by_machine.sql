-- Issue 14: fewer randomly-keyed B-trees per sale. Every index on a table a
-- sale writes is one more page dirtied in each group commit, and an index
-- keyed by slot (machine × product) takes its new entries at as many places
-- as there are slots sold in the commit.
--
-- sales_events_slot_time (machine_id, product_id, event_time; 0006) and
-- sales_events_machine_pay_time (machine_id, payment_method, event_time;
-- 0007) become one index by machine and time, which takes a machine's new
-- sales at one place. Each of their readers is one machine's sales in a
-- time range (the sold-since check of a late count, the DEX ledger and its
-- recheck, the cash ledger, one slot's stock movements): it now searches
-- that range and filters the product or the payment method.
CREATE INDEX sales_events_machine_time ON sales_events (machine_id, event_time, transaction_id);
DROP INDEX IF EXISTS sales_events_slot_time;
DROP INDEX IF EXISTS sales_events_machine_pay_time;

-- lot_movements_lot (0011) is read by no query: the lot ledger is written
-- (one row per sale) and sent up, never looked up by lot at the edge.
DROP INDEX IF EXISTS lot_movements_lot;

-- payments_day (0009) served the daily payments summary, which reads
-- payment_totals since 0018, and GET /payments reads a day as its range of
-- sold_at (edge/payment listQuery keeps the planner off payments_day).
DROP INDEX IF EXISTS payments_day;
