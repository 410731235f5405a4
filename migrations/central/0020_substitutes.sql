-- Substitutes for pre-orders (central/api substitution.go): a site's offer
-- of substitutes for an order's missing units (JSON, an
-- envelope.Substitution from the site's order events; '' for none), the
-- customer's answer as central recorded it ('ACCEPT', 'REFUSE' or ''),
-- and the gateway's id of the partial refund of units refused.
ALTER TABLE orders ADD COLUMN substitution TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN substitution_answer TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN substitution_refund_id TEXT NOT NULL DEFAULT '';
