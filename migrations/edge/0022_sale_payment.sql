-- A cash, card or mobile sale's payment lives on the sale's own row
-- (issue 14): payment_id is its id in the ledger (NULL: no payment here —
-- a pre-order's pickup, a GATEWAY or promotion-priced sale, whose payment
-- is a payments row, or a payment moved to payments by its first change).
-- Such a payment is CAPTURED, taken by the machine at the sale: its
-- payments row and first history row would repeat the sale. A refund moves
-- it to payments (with its first history row) and clears payment_id here.
-- Payments recorded before this migration stay in payments.
ALTER TABLE sales_events ADD COLUMN payment_id INTEGER;
ALTER TABLE sales_events ADD COLUMN pay_method TEXT;
ALTER TABLE sales_events ADD COLUMN pay_day TEXT;
ALTER TABLE sales_events ADD COLUMN card_reference TEXT;
ALTER TABLE sales_events ADD COLUMN card_last4 TEXT;
CREATE INDEX sales_events_payment ON sales_events (payment_id) WHERE payment_id IS NOT NULL;

-- Every payment, wherever it lives, in the columns of payments (for
-- reports and checks; the ledger's hot reads query each table itself).
CREATE VIEW payment_ledger AS
SELECT payment_id, machine_id, transaction_id, product_id, quantity, method, method_name, amount_cents, refunded_cents, status,
    card_reference, card_last4, gateway_id, failure, day, sold_at, created_at, updated_at
FROM payments
UNION ALL
SELECT payment_id, machine_id, transaction_id, product_id, quantity, pay_method, payment_method, amount_cents, 0, 'CAPTURED',
    card_reference, card_last4, NULL, NULL, pay_day, event_time, received_at, received_at
FROM sales_events WHERE payment_id IS NOT NULL;
