-- Issue 14: payment_totals (0018) is kept by the writer, not by triggers.
-- The triggers ran one upsert per payment change inside the writer; the
-- writer now sums the changes of a group commit per day and method and
-- writes one upsert per key as it commits (edge/payment, totals.go). The
-- table and its backfill stay.
DROP TRIGGER payment_totals_insert;
DROP TRIGGER payment_totals_update;
